"""Atomic file output: the one writer of the project (checkpoints, stores, grids, results).

It lives at the bottom layer because checkpoints (:mod:`models.checkpoint`) must be written
atomically and ``models`` imports nothing of ours; every other layer reaches it through
:mod:`inference.files`. A file is written under a temporary name beside its destination,
flushed to disk, given its mode (``0644`` unless asked: outputs are meant to be read by
others, unlike ``mkstemp``'s ``0600``) and moved into place with ``os.replace``; on any
failure the temporary file is removed and the destination is left as it was.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

DEFAULT_MODE = 0o644


@contextmanager
def atomic_path(path: str | Path, mode: int = DEFAULT_MODE) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` with ``mode``."""
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with tmp.open("rb+") as f:  # the writer may have closed and reopened it: sync its data
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(
    path: str | Path, write: Callable[[str], object], mode: int = DEFAULT_MODE
) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then move it into place."""
    with atomic_path(path, mode) as tmp:
        write(str(tmp))
    return Path(path)
