"""Atomic files for every layer above the models: the one writer and its text helpers.

The writer itself (:func:`atomic_path`, :func:`atomic_write`) is implemented once, in
:mod:`models.atomic`, because checkpoints need it and ``models`` imports nothing of ours;
this module is where the other layers take it from. Files are ``0644`` unless a caller asks
for another mode, and appear only when complete.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from models.atomic import DEFAULT_MODE, atomic_path, atomic_write

__all__ = ["DEFAULT_MODE", "atomic_path", "atomic_paths", "atomic_write", "write_text"]


def write_text(path: str | Path, text: str, mode: int = DEFAULT_MODE) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path, mode) as tmp:
        tmp.write_text(text)
    return Path(path)


@contextmanager
def atomic_paths(*paths: str | Path, mode: int = DEFAULT_MODE) -> Iterator[list[Path]]:
    """Temporary paths beside each of ``paths`` (files published together, e.g. an output
    and its side file): all are written before any replaces its destination, and on any
    failure in the block every destination is left as it was."""
    with ExitStack() as stack:
        yield [stack.enter_context(atomic_path(p, mode)) for p in paths]
