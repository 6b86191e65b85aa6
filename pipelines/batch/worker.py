"""The task a worker runs: grid one time chunk and write it into the job's store.

:func:`grid_chunk` is what dask.distributed runs for each chunk. The model is loaded once
per worker process (:func:`predictor_for`, a per-process cache keyed by the bundle's path,
sha256 and device; a worker whose bundle differs from the client's refuses), not once per
task. The chunk's non-empty steps go through :meth:`BundlePredictor.predict_batch` in
consecutive groups of ``batch_steps`` (on a GPU, one forward pass for many steps); steps
without stations are written as missing. The composition of every forward pass depends
only on the job, and torch runs on a fixed number of threads per worker, so a chunk's
floats are the same on any worker, with any number of workers. The chunk's region of the
Zarr store is written by the worker itself; then a marker (:func:`.store.mark_done`) says
the chunk is complete, so an interrupted job resumes from its completed chunks.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from inference.bundle import load_bundle
from inference.device import resolve_device
from inference.errors import BundleError
from inference.notes import prediction_notes
from inference.predictor import BundlePredictor, Prediction
from inference.query import Query
from inference.stations import Stations
from inference.units import TemperatureUnit, from_kelvin

from .store import mark_done, write_region

_CACHE: dict[tuple[str, str, str], BundlePredictor] = {}
_LOADS: dict[tuple[str, str, str], int] = {}
_CACHE_LOCK = threading.Lock()
_RUN_LOCK = threading.Lock()  # one model call at a time per process (threaded workers)


@dataclass(frozen=True)
class WorkerJob:
    """What every chunk of a job shares (sent to each worker once)."""

    bundle_path: str
    bundle_sha256: str
    device: str
    threads: int
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    target_elevation: NDArray[np.float32] | None
    units: TemperatureUnit
    equivariant_only: bool
    batch_steps: int
    store: str
    done_dir: str


@dataclass(frozen=True)
class Chunk:
    """One time chunk: steps ``start .. stop - 1`` and their observations (``step`` is the
    job's step index of each; values in K, elevations in m)."""

    index: int
    start: int
    stop: int
    step: NDArray[np.int64]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    value_k: NDArray[np.float64]
    elevation_m: NDArray[np.float64]


@dataclass
class ChunkResult:
    """What a chunk reports back (also stored in its marker)."""

    index: int
    steps: int
    predicted: int
    seconds: float
    worker: str
    loads: int
    elevation_source: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    device: str = ""
    step_notes: dict[int, list[str]] = field(default_factory=dict)  # job step -> its notes


def predictor_for(path: str, sha256: str, device: str, threads: int) -> tuple[BundlePredictor, int]:
    """This process's predictor for the bundle (loaded on first use) and its load count."""
    device = resolve_device(device)  # "auto": this worker's GPU if it has one
    key = (path, sha256, device)
    with _CACHE_LOCK:
        # every chunk, not only at the first load: the thread count decides the floats, and
        # something else in the process (another job, a test) may have changed it since
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        if key not in _CACHE:
            bundle = load_bundle(path, device=device)
            if bundle.sha256 != sha256:
                raise BundleError(
                    f"the worker's bundle {path} has sha256 {bundle.sha256[:12]}, the client's "
                    f"{sha256[:12]}: install the same model on every worker"
                )
            _CACHE[key] = BundlePredictor(bundle)
            _LOADS[key] = _LOADS.get(key, 0) + 1
        return _CACHE[key], _LOADS[key]


def grid_chunk(job: WorkerJob, chunk: Chunk) -> ChunkResult:
    """Predict every step of ``chunk``, write its region and its marker; report."""
    t0 = time.perf_counter()
    predictor, loads = predictor_for(job.bundle_path, job.bundle_sha256, job.device, job.threads)
    n = chunk.stop - chunk.start
    shape = (n, len(job.lat), len(job.lon))
    mean = np.full(shape, np.nan, np.float32)
    variance = np.full(shape, np.nan, np.float32)
    steps = np.unique(chunk.step)
    la, lo = np.meshgrid(job.lat, job.lon, indexing="ij")
    sources: set[str] = set()
    step_notes: dict[int, list[str]] = {}
    for a in range(0, len(steps), job.batch_steps):
        group = steps[a : a + job.batch_steps]
        queries = [_query(job, chunk, s, la, lo) for s in group]
        with _RUN_LOCK:
            preds = predictor.predict_batch(queries)
        for s, q, p in zip(group, queries, preds, strict=True):
            mean[s - chunk.start], variance[s - chunk.start] = _fields(p, job.units)
            sources.add(p.elevation_source)
            step_notes[int(s)] = _notes(predictor, job, q, p)
    write_region(job.store, chunk.start, {"tas": mean, "tas_variance": variance})
    result = ChunkResult(
        chunk.index,
        n,
        len(steps),
        time.perf_counter() - t0,
        f"{os.uname().nodename}:{os.getpid()}:{threading.get_ident()}",
        loads,
        sorted(sources),
        sorted({n for ns in step_notes.values() for n in ns}),
        str(predictor.bundle.device),
        step_notes,
    )
    mark_done(job.done_dir, chunk.index, result.__dict__)
    return result


def _query(
    job: WorkerJob, chunk: Chunk, step: int, la: NDArray[np.float64], lo: NDArray[np.float64]
) -> Query:
    a, b = np.searchsorted(chunk.step, [step, step + 1])
    return Query(
        chunk.lat[a:b],
        chunk.lon[a:b],
        chunk.value_k[a:b],
        la,
        lo,
        station_elevation=chunk.elevation_m[a:b],
        target_elevation=job.target_elevation,
        equivariant_only=job.equivariant_only,
    )


def _notes(predictor: BundlePredictor, job: WorkerJob, q: Query, p: Prediction) -> list[str]:
    """The step's notes, by the service's rule (:func:`inference.notes.prediction_notes`)."""
    f64 = np.float64
    elevation = (
        np.full(np.shape(q.station_lat), np.nan)
        if q.station_elevation is None
        else q.station_elevation
    )
    stations = Stations(
        np.asarray(q.station_lat, f64),
        np.asarray(q.station_lon, f64),
        np.asarray(q.station_value_k, f64),
        np.asarray(elevation, f64),
    )
    given = job.target_elevation is not None and bool(np.isfinite(job.target_elevation).any())
    t_lat, t_lon = np.asarray(q.target_lat, f64), np.asarray(q.target_lon, f64)
    grid = (job.lat, job.lon)
    return prediction_notes(
        predictor.bundle, p, stations, t_lat, t_lon, grid, job.equivariant_only, given
    )


def _fields(p: Prediction, units: TemperatureUnit) -> tuple[Any, Any]:
    """Mean in the output's units and variance, float32."""
    return from_kelvin(p.mean, units).astype(np.float32), p.variance.astype(np.float32)
