"""Atomic files for every layer above the models: the one writer and its text helpers.

The writer itself (:func:`atomic_path`, :func:`atomic_write`) is implemented once, in
:mod:`models.atomic`, because checkpoints need it and ``models`` imports nothing of ours;
this module is where the other layers take it from. Files are ``0644`` unless a caller asks
for another mode, and appear only when complete.
"""

from __future__ import annotations

from pathlib import Path

from models.atomic import DEFAULT_MODE, atomic_path, atomic_write

__all__ = ["DEFAULT_MODE", "atomic_path", "atomic_write", "write_text"]


def write_text(path: str | Path, text: str, mode: int = DEFAULT_MODE) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path, mode) as tmp:
        tmp.write_text(text)
    return Path(path)
