"""Scale-out on dask.distributed: a cluster to run on, and the chunks sent to it.

:func:`connect` gives a client: of an existing cluster (``--scheduler tcp://host:8786``; its
workers must have equigrid and the model installed, and see the output's directory at the
same path), or of a local cluster sized to the machine (one single-threaded worker process
per core; one per GPU on CUDA; ``--workers N`` to choose). Run cluster workers with one
thread each (``dask worker --nthreads 1``): a process computes one chunk at a time.

:func:`dispatch` sends the job's shared part to every worker once, keeps a bounded number of
chunks in flight (memory stays flat over years of steps), and reports each completed chunk.
A failed chunk stops the job with one line; the completed chunks are kept for ``--resume``.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from inference.device import resolve_device
from inference.errors import ConfigError, EquigridError, JobError, one_line

from .worker import Chunk, ChunkResult, WorkerJob, grid_chunk

IN_FLIGHT_PER_THREAD = 2


def default_workers(device: str) -> int:
    """Workers of the local cluster: one per core (CPU), one per process's GPU (CUDA)."""
    if resolve_device(device).startswith("cuda"):
        return 1
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def check_options(scheduler: str | None, workers: int | None) -> None:
    """Refuse cluster options that cannot go together (before any work is done)."""
    if scheduler and workers:
        raise ConfigError("--workers sizes a local cluster; --scheduler's cluster has its own")
    if workers is not None and workers < 1:
        raise ConfigError("--workers must be at least 1")


@contextmanager
def connect(scheduler: str | None, workers: int | None, device: str) -> Iterator[Any]:
    """A ``distributed.Client`` of the cluster to run on (module docstring)."""
    from distributed import Client

    check_options(scheduler, workers)
    if scheduler:
        try:
            client = Client(scheduler, timeout="30s")  # a cluster still starting: wait
        except (OSError, TimeoutError) as e:
            raise ConfigError(
                f"cannot reach the dask scheduler {scheduler}: {one_line(e)}"
            ) from None
        with client:
            yield client
        return
    n = workers or default_workers(device)
    with _local_cluster(n) as cluster, Client(cluster) as client:
        try:
            yield client
        except KeyboardInterrupt:  # Ctrl-C: the command says so in one line; quiet shutdown
            logging.getLogger("distributed").setLevel(logging.CRITICAL)
            raise


def _local_cluster(n: int) -> Any:
    """A local cluster of ``n`` single-threaded worker processes, started with Ctrl-C
    (SIGINT) ignored: the terminal sends it to the whole process group and each worker would
    print its own traceback; the client (this process, whose handler is restored at once)
    stops them and says so in one line."""
    from distributed import LocalCluster

    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        return LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)


def dispatch(
    client: Any,
    job: WorkerJob,
    chunks: Iterable[Chunk],
    on_done: Callable[[ChunkResult], None],
) -> None:
    """Run ``grid_chunk`` for every chunk on the cluster; ``on_done`` for each result."""
    from distributed import as_completed

    shared = client.scatter(job, broadcast=True)
    threads = sum(client.nthreads().values()) or 1
    todo = iter(chunks)
    run = uuid.uuid4().hex[:8]
    pending = as_completed()

    def submit_next() -> None:
        c = next(todo, None)
        if c is not None:
            key = f"equigrid-chunk-{run}-{c.index}"
            pending.add(client.submit(grid_chunk, shared, c, key=key, pure=False))

    for _ in range(IN_FLIGHT_PER_THREAD * threads):
        submit_next()
    for future in pending:
        try:
            result = future.result()
        except EquigridError:
            client.cancel(list(pending.futures))
            raise
        except Exception as e:
            client.cancel(list(pending.futures))
            raise JobError(
                f"a chunk failed ({type(e).__name__}: {one_line(e)}); the completed chunks are "
                "kept: rerun with --resume"
            ) from None
        on_done(result)
        submit_next()
