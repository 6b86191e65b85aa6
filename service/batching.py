"""Admission, lanes and request coalescing between the event loop and the model.

A request reaches the model through one of two **lanes**, chosen by its estimated work
(:meth:`inference.predictor.BundlePredictor.cost`): the fast lane for requests up to
``small_cost_gmac``, the slow lane for the rest. Each lane has its own bounded queue and its
own model thread, so a long request occupies the slow lane's thread while small ones keep
being answered by the fast lane's (torch releases the GIL; both threads share the cores).

Per lane, one thread takes the first queued query, waits up to ``wait_s`` for more (at most
``max_size`` in all) and hands them to ``predict_batch``, which decides which of them share
a model call. A full queue refuses at once (:class:`~service.errors.Overloaded`: 503 with a
``Retry-After`` estimated from the lane's recent service times); a request not answered
within its deadline ends in :class:`~service.errors.DeadlineExceeded` (504) and, if it had
not started, is dropped from the queue unrun.

Thread-based rather than asyncio tasks so that it serves any event loop (uvicorn's, a test
client's) without being tied to the one it was started on.
"""

from __future__ import annotations

import asyncio
import math
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from inference.predictor import Prediction
from inference.query import Query

from .errors import DeadlineExceeded, Overloaded

PredictBatch = Callable[[Sequence[Query]], list[Prediction]]


@dataclass
class BatchMetrics:
    registry: CollectorRegistry
    batch_size: Histogram = field(init=False)
    queue_depth: Gauge = field(init=False)
    model_seconds: Histogram = field(init=False)
    refused: Counter = field(init=False)

    def __post_init__(self) -> None:
        r = self.registry
        self.batch_size = Histogram(
            "equigrid_batch_size",
            "queries per batch handed to the model",
            ["lane"],
            buckets=(1, 2, 4, 8, 16, 32, 64),
            registry=r,
        )
        self.queue_depth = Gauge(
            "equigrid_queue_depth", "queries waiting for the model", ["lane"], registry=r
        )
        self.model_seconds = Histogram(
            "equigrid_model_seconds", "seconds per batch in predict_batch", ["lane"], registry=r
        )
        self.refused = Counter(
            "equigrid_refused", "requests refused by admission", ["reason"], registry=r
        )


@dataclass
class _Item:
    query: Query
    future: Future[Prediction]
    deadline: float


class Lane:
    """A bounded queue and the one thread that feeds its queries to the model."""

    def __init__(
        self,
        name: str,
        predict: PredictBatch,
        max_size: int,
        wait_s: float,
        max_queue: int,
        metrics: BatchMetrics,
    ) -> None:
        if max_size < 1 or wait_s < 0 or max_queue < 1:
            raise ValueError("max_size and max_queue must be >= 1 and wait_s >= 0")
        self.name, self._predict, self.max_size, self.wait_s = name, predict, max_size, wait_s
        self.max_queue = max_queue
        self._metrics = metrics
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._pending = 0  # queued, not yet taken by the thread
        self._lock = threading.Lock()
        self._seconds_per_item = 1.0  # running estimate, for Retry-After
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._loop, name=f"equigrid-{self.name}", daemon=True
        )
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
        self._metrics.queue_depth.labels(self.name).set(0)

    def retry_after(self) -> int:
        """Seconds until the queue has likely drained (at least 1)."""
        return max(1, min(600, math.ceil(self._pending * self._seconds_per_item)))

    def put(self, query: Query, timeout_s: float) -> Future[Prediction]:
        """Queue ``query`` (refused with :class:`Overloaded` when the queue is full)."""
        if self._thread is None:
            raise RuntimeError("the lane is not running")
        with self._lock:
            if self._pending >= self.max_queue:
                self._metrics.refused.labels("queue_full").inc()
                raise Overloaded(
                    f"the {self.name} lane's queue is full ({self.max_queue} requests waiting; "
                    f"max_queue_{'small' if self.name == 'fast' else 'large'}); retry later",
                    self.retry_after(),
                )
            self._pending += 1
        item = _Item(query, Future(), time.monotonic() + timeout_s)
        self._queue.put(item)
        self._metrics.queue_depth.labels(self.name).set(self._pending)
        return item.future

    def _take(self, block: bool, timeout: float | None = None) -> _Item | None:
        item = self._queue.get(block=block, timeout=timeout)
        if item is not None:
            with self._lock:
                self._pending -= 1
        return item

    def _collect(self) -> tuple[list[_Item], bool]:
        """The next batch (live items only), and whether to stop after it."""
        first = self._take(True)
        if first is None:
            return [], True
        items, stop = [first], False
        deadline = time.monotonic() + self.wait_s
        while len(items) < self.max_size:
            try:
                item = self._take(True, max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is None:
                stop = True
                break
            items.append(item)
        self._metrics.queue_depth.labels(self.name).set(self._pending)
        now = time.monotonic()
        live = []
        for it in items:
            if it.deadline < now:
                it.future.cancel()  # its caller has been answered 504 already
            if it.future.set_running_or_notify_cancel():
                live.append(it)
        return live, stop

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
            if not items:
                continue
            self._metrics.batch_size.labels(self.name).observe(len(items))
            start = time.perf_counter()
            with self._metrics.model_seconds.labels(self.name).time():
                self._run(items)
            per_item = (time.perf_counter() - start) / len(items)
            self._seconds_per_item = 0.8 * self._seconds_per_item + 0.2 * per_item
            # memory goes back when no HTTP request is in flight (service/middleware.py)


class Scheduler:
    """The two lanes, and the deadline of every request."""

    def __init__(
        self,
        predict: PredictBatch,
        *,
        max_size: int,
        wait_s: float,
        small_cost: float,
        max_queue: tuple[int, int],
        timeout_s: float,
        metrics: BatchMetrics,
    ) -> None:
        self.small_cost, self.timeout_s = small_cost, timeout_s
        self.lanes = {
            "fast": Lane("fast", predict, max_size, wait_s, max_queue[0], metrics),
            # large requests run alone: batching them buys nothing and costs memory
            "slow": Lane("slow", predict, 1, 0.0, max_queue[1], metrics),
        }
        self._metrics = metrics

    def start(self) -> None:
        for lane in self.lanes.values():
            lane.start()

    def stop(self) -> None:
        for lane in self.lanes.values():
            lane.stop()

    def lane_for(self, cost: float) -> Lane:
        return self.lanes["fast" if cost <= self.small_cost else "slow"]

    async def submit(self, query: Query, cost: float = 0.0) -> Prediction:
        """Queue ``query`` in its lane and wait for its prediction, at most the deadline."""
        fut = self.lane_for(cost).put(query, self.timeout_s)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(fut), self.timeout_s)
        except TimeoutError:
            fut.cancel()
            self._metrics.refused.labels("deadline").inc()
            raise DeadlineExceeded(
                f"not answered within the deadline of {self.timeout_s:g} s "
                "(request_timeout_s); retry later or send a smaller request"
            ) from None
