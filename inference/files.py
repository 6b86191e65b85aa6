"""Atomic files for every layer above the models: the one writer and its text helpers.

The writer itself (:func:`atomic_path`, :func:`atomic_write`) is implemented once, in
:mod:`models.atomic`, because checkpoints need it and ``models`` imports nothing of ours;
this module is where the other layers take it from. Files are ``0644`` unless a caller asks
for another mode, and appear only when complete.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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
    and its side file). After the block, every temporary file is synced first; then they
    replace their destinations, the last path first and the first path (the output) last,
    so an output never appears before its side files. A failure in the block or while
    syncing leaves every destination as it was."""
    dests = [Path(p) for p in paths]
    tmps: list[Path] = []
    try:
        for dest in dests:
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
            os.close(fd)
            tmps.append(Path(name))
        yield tmps
        for tmp in tmps:
            with tmp.open("rb+") as f:  # the writer may have closed and reopened it
                os.fsync(f.fileno())
            os.chmod(tmp, mode)
        for tmp, dest in reversed(list(zip(tmps, dests, strict=True))):
            os.replace(tmp, dest)
    finally:
        for tmp in tmps:
            tmp.unlink(missing_ok=True)
