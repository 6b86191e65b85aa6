"""Progress of a batch job: a bar with ETA (steps/s) on a terminal, a line per chunk in logs.

On a TTY, :class:`Progress` draws a tqdm bar on stderr; otherwise (a log file, a pipe, a
container's output) it writes one line per completed chunk with the same numbers, or
nothing when ``quiet``. The rate and ETA count from the first completed chunk: before it,
the time went to starting the cluster and loading the model on every worker, which says
nothing about the steps to come, so the first chunk shows no ETA (``?``) rather than a wild
one; the bar shown while starting is replaced by the real one then.
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
        self.warm: tuple[float, int] | None = None  # time and steps at the first chunk's end
        tty = getattr(self.stream, "isatty", lambda: False)()
        self.bar: Any = None
        if tty and not quiet:
            self.bar = tqdm(
                total=total,
                initial=done,
                desc=f"{PREFIX} (starting)",
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n}/{total} [{elapsed}]",
                file=self.stream,
                leave=False,
            )

    def update(self, steps: int) -> None:
        """One more chunk of ``steps`` steps completed."""
        self.steps += steps
        self.chunks_done += 1
        if self.warm is None:
            self.warm = (time.perf_counter(), self.steps)
            if self.bar is not None:  # the real bar, timed from now
                self.bar.close()
                self.bar = tqdm(total=self.total, initial=self.steps, unit="step", desc=PREFIX,
                                file=self.stream, leave=True)  # fmt: skip
                return
        if self.bar is not None:
            self.bar.update(steps)
        elif not self.quiet:
            print(f"{PREFIX}: {self.line()}", file=self.stream, flush=True)

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def rate(self) -> float:
        """Steps per second in this run."""
        return (self.steps - self.first) / max(self.elapsed(), 1e-9)

    def steady_rate(self) -> float | None:
        """Steps per second since the first chunk (None until a second chunk is done)."""
        if self.warm is None or self.steps == self.warm[1]:
            return None
        return (self.steps - self.warm[1]) / max(time.perf_counter() - self.warm[0], 1e-9)

    def line(self) -> str:
        rate = self.steady_rate()
        if rate is None or rate <= 0:
            speed, eta = "? steps/s", "?"
        else:
            left = (self.total - self.steps) / rate
            speed, eta = f"{rate:.2f} steps/s", time.strftime("%H:%M:%S", time.gmtime(left))
        return (
            f"chunk {self.chunks_done}/{self.chunks} done, {self.steps}/{self.total} steps, "
            f"{speed}, ETA {eta}"
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
