"""Give freed memory back to the operating system after spikes.

glibc keeps freed heap memory (and raises its mmap threshold after large frees), so one
large request would leave a worker's resident size high for good. :func:`trim` asks glibc
to return free memory (``malloc_trim(0)``). It is not called after every request: memory
given back is faulted in again, page by page, by the next request (about 6 ms of a 35 ms
400-station grid request on CPU). :class:`IdleTrim` calls it once the process has had
nothing to do for a while; the HTTP middleware asks for it when the last request in flight ends,
and a new request cancels it. A no-op where glibc is absent.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
import time
from collections.abc import Callable
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
ARENAS = 2  # malloc arenas of a worker (see benchmarks/results/memory.md)


def limit_arenas(n: int = ARENAS) -> bool:
    """At most ``n`` malloc arenas (glibc makes one per thread otherwise, and memory freed
    in one is not reused by another); True if glibc accepted it."""
    lib = _libc()
    return bool(lib.mallopt(M_ARENA_MAX, n)) if lib is not None else False


def trim() -> bool:
    """Return free heap memory to the OS; True if glibc did release some."""
    lib = _libc()
    return bool(lib.malloc_trim(0)) if lib is not None else False


class IdleTrim:
    """Call ``fn`` (:func:`trim`) once, ``delay_s`` after the last :meth:`soon`, unless
    :meth:`cancel` came in between; one daemon thread, started on first use."""

    def __init__(self, delay_s: float = 2.0, fn: Callable[[], object] = trim) -> None:
        self.delay_s, self._fn = delay_s, fn
        self._due: float | None = None
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def soon(self) -> None:
        """Idle now: trim in ``delay_s`` unless work arrives before."""
        with self._cond:
            self._due = time.monotonic() + self.delay_s
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="trim", daemon=True)
                self._thread.start()
            self._cond.notify()

    def cancel(self) -> None:
        """Busy again: no trim until the next :meth:`soon`."""
        with self._cond:
            self._due = None

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._due is None:
                    self._cond.wait()
                left = self._due - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                self._due = None
            self._fn()


IDLE_TRIM = IdleTrim()  # the process's one (the HTTP middleware arms it)
