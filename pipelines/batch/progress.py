"""Progress of a batch job: a bar with ETA (steps/s) on a terminal, a line per chunk in logs.

On a TTY, :class:`Progress` draws a tqdm bar on stderr; otherwise (a log file, a pipe, a
container's output) it writes one line per completed chunk with the same numbers, or
nothing when ``quiet``.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any

from tqdm import tqdm

PREFIX = "equigrid grid"


class Progress:
    """Counts completed steps of ``total``; ``done`` were completed before this run."""

    def __init__(
        self,
        total: int,
        done: int = 0,
        chunks: int = 0,
        stream: IO[str] | None = None,
        quiet: bool = False,
    ) -> None:
        self.stream = stream or sys.stderr
        self.total, self.steps, self.chunks, self.quiet = total, done, chunks, quiet
        self.first, self.chunks_done = done, 0
        self.start = time.perf_counter()
        tty = getattr(self.stream, "isatty", lambda: False)()
        self.bar: Any = None
        if tty and not quiet:
            self.bar = tqdm(
                total=total, initial=done, unit="step", desc=PREFIX, file=self.stream, leave=True
            )

    def update(self, steps: int) -> None:
        """One more chunk of ``steps`` steps completed."""
        self.steps += steps
        self.chunks_done += 1
        if self.bar is not None:
            self.bar.update(steps)
        elif not self.quiet:
            print(f"{PREFIX}: {self.line()}", file=self.stream, flush=True)

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def rate(self) -> float:
        """Steps per second in this run."""
        return (self.steps - self.first) / max(self.elapsed(), 1e-9)

    def line(self) -> str:
        rate = self.rate()
        left = (self.total - self.steps) / rate if rate > 0 else float("nan")
        eta = time.strftime("%H:%M:%S", time.gmtime(left)) if left == left else "?"
        return (
            f"chunk {self.chunks_done}/{self.chunks} done, {self.steps}/{self.total} steps, "
            f"{rate:.2f} steps/s, ETA {eta}"
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
