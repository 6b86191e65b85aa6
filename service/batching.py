"""Request coalescing: concurrent predictions are queued and run in batches.

One worker thread owns the model: it takes the first queued query, waits up to ``wait_s``
for more (at most ``max_size`` in all) and hands them to
:meth:`inference.predictor.Predictor.predict_batch`, so the model is never called concurrently
and the event loop never blocks. ``predict_batch`` decides which queries share a model call
(those on the same internal grid) and runs the rest one after another. With
``max_size == 1`` (the CPU default) every query is its own batch.

Thread-based rather than an asyncio task so that it serves any event loop (uvicorn's, a
test client's) without being tied to the one it was started on.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Gauge, Histogram

from inference.predictor import Prediction, Query

PredictBatch = Callable[[Sequence[Query]], list[Prediction]]


@dataclass
class BatchMetrics:
    registry: CollectorRegistry
    batch_size: Histogram = field(init=False)
    queue_depth: Gauge = field(init=False)
    model_seconds: Histogram = field(init=False)

    def __post_init__(self) -> None:
        r = self.registry
        self.batch_size = Histogram(
            "equigrid_batch_size",
            "queries per batch handed to the model",
            buckets=(1, 2, 4, 8, 16, 32, 64),
            registry=r,
        )
        self.queue_depth = Gauge(
            "equigrid_queue_depth", "queries waiting for the model", registry=r
        )
        self.model_seconds = Histogram(
            "equigrid_model_seconds", "seconds per batch in predict_batch", registry=r
        )


@dataclass
class _Item:
    query: Query
    future: Future[Prediction]


class Batcher:
    def __init__(
        self, predict: PredictBatch, max_size: int, wait_s: float, metrics: BatchMetrics
    ) -> None:
        if max_size < 1 or wait_s < 0:
            raise ValueError("max_size must be >= 1 and wait_s >= 0")
        self._predict, self.max_size, self.wait_s = predict, max_size, wait_s
        self._metrics = metrics
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="equigrid-batcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Finish the batch in progress, fail the queued ones, end the thread."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join()
        self._thread = None
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None and item.future.set_running_or_notify_cancel():
                item.future.set_exception(RuntimeError("the service is shutting down"))
        self._metrics.queue_depth.set(0)

    async def submit(self, query: Query) -> Prediction:
        """Queue ``query`` and wait for its prediction (cancellation drops it)."""
        if self._thread is None:
            raise RuntimeError("the batcher is not running")
        item = _Item(query, Future())
        self._queue.put(item)
        self._metrics.queue_depth.set(self._queue.qsize())
        return await asyncio.wrap_future(item.future)

    def _collect(self) -> tuple[list[_Item], bool]:
        """The next batch, and whether to stop after it."""
        first = self._queue.get()
        if first is None:
            return [], True
        items, stop = [first], False
        deadline = time.monotonic() + self.wait_s
        while len(items) < self.max_size:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is None:
                stop = True
                break
            items.append(item)
        self._metrics.queue_depth.set(self._queue.qsize())
        return [it for it in items if it.future.set_running_or_notify_cancel()], stop

    def _run(self, items: list[_Item]) -> None:
        """Predict ``items`` together; if that fails, each alone, so one bad query cannot
        fail the others."""
        try:
            preds = self._predict([it.query for it in items])
        except Exception as e:
            if len(items) == 1:
                items[0].future.set_exception(e)
            else:
                for it in items:
                    self._run([it])
            return
        for it, p in zip(items, preds, strict=True):
            it.future.set_result(p)

    def _loop(self) -> None:
        stop = False
        while not stop:
            items, stop = self._collect()
            if items:
                self._metrics.batch_size.observe(len(items))
                with self._metrics.model_seconds.time():
                    self._run(items)
