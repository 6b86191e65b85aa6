"""Give freed memory back to the operating system after spikes.

glibc keeps freed heap memory (and raises its mmap threshold after large frees), so one
large request would leave a worker's resident size high for good. :func:`trim` asks glibc
to return free memory (``malloc_trim(0)``); the model threads call it when their lane runs
empty. A no-op where glibc is absent.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache


@cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        lib = ctypes.CDLL(name)
        lib.malloc_trim.argtypes = [ctypes.c_size_t]
        return lib
    except (OSError, AttributeError):
        return None


M_ARENA_MAX = -8


def limit_arenas(n: int = 2) -> bool:
    """At most ``n`` malloc arenas (glibc makes one per thread otherwise, and memory freed
    in one is not reused by another); True if glibc accepted it."""
    lib = _libc()
    return bool(lib.mallopt(M_ARENA_MAX, n)) if lib is not None else False


def trim() -> bool:
    """Return free heap memory to the OS; True if glibc did release some."""
    lib = _libc()
    return bool(lib.malloc_trim(0)) if lib is not None else False
