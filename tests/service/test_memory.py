"""Freed memory goes back to the OS once the process is idle, not after every request."""

from __future__ import annotations

import threading
import time

from service.memory import IdleTrim


def _counter() -> tuple[list[float], threading.Event, IdleTrim]:
    calls: list[float] = []
    fired = threading.Event()

    def fn() -> None:
        calls.append(time.monotonic())
        fired.set()

    return (
        calls,
        fired,
        IdleTrim(delay_s=1.0, fn=fn),
    )  # far longer than the gaps below, even on a busy machine


def test_trims_once_after_the_last_idle_signal() -> None:
    calls, fired, idle = _counter()
    start = time.monotonic()
    for _ in range(5):  # back-to-back requests: each one's end postpones the trim
        idle.soon()
        time.sleep(0.05)
    assert fired.wait(5)
    time.sleep(0.3)
    assert len(calls) == 1
    assert calls[0] - start >= 1.0 + 4 * 0.05


def test_new_work_cancels_a_pending_trim() -> None:
    calls, fired, idle = _counter()
    idle.soon()
    idle.cancel()
    assert not fired.wait(0.5)
    idle.soon()
    assert fired.wait(5)
    assert len(calls) == 1
