"""Batch gridding: a screened station record -> one CF dataset of mean and variance per step.

:func:`run_job` is the path of one job: the partial store is opened (or reopened with
``resume``, :mod:`.store`), the output's template written (:mod:`.output`), every time chunk
not yet complete computed on a dask.distributed cluster (:mod:`.cluster`, :mod:`.worker`),
progress shown (:mod:`.progress`), and the output written from the store, appearing (mode
0644) only when every chunk is done, together with the list of skipped rows beside it
(kept in the partial directory until then: a failed run never replaces the previous run's).
The job's identity (hashes of the observations, grid, time axis, cell elevations; the
model's sha256; the settings that change floats) is kept with the partial store, so a
resumed job is the same job and its result equals an uninterrupted run's.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from inference.bundle import Bundle
from inference.coords import wrap_longitude
from inference.targets import TargetGrid
from inference.units import TemperatureUnit

from .cluster import dispatch
from .output import OutputFormat, create_store, finish, template
from .plan import TimeAxis, chunk_spans
from .progress import Progress
from .screening import Observations, Screening, skipped_path, write_skipped
from .store import completed, open_partial, remove, reports
from .worker import Chunk, ChunkResult, WorkerJob


@dataclass(frozen=True)
class Job:
    """One batch job: what to grid, with which model, into which output."""

    out: Path
    fmt: OutputFormat
    grid: TargetGrid
    axis: TimeAxis
    screening: Screening
    bundle: Bundle
    units: TemperatureUnit
    device: str = "cpu"
    equivariant_only: bool = False
    chunk_steps: int = 24
    batch_steps: int = 8
    threads: int = 1
    target_elevation: NDArray[np.float32] | None = None
    attrs: Mapping[str, Any] = field(default_factory=dict)
    skipped: pd.DataFrame | None = None  # the skipped rows, published beside the output

    def identity(self) -> dict[str, str]:
        """What makes two runs the same job (compared on ``--resume``)."""
        obs = self.screening.observations
        return {
            "observations": _digest(obs.step, obs.lat, obs.lon, obs.value_k, obs.elevation_m),
            "grid": _digest(self.grid.lat, self.grid.lon),
            "time axis": _digest(self.axis.times) if self.axis.times is not None else "none",
            "cell elevations": _digest(self.target_elevation)
            if self.target_elevation is not None
            else "none",
            "model": self.bundle.sha256,
            "units": self.units.value,
            "device": self.device,
            "equivariant_only": str(self.equivariant_only),
            "chunk_steps": str(self.chunk_steps),
            "batch_steps": str(self.batch_steps),
            "threads": str(self.threads),
        }


@dataclass
class Outcome:
    """What a run did: steps in all, steps without stations, chunks computed and resumed."""

    steps: int
    empty_steps: int
    computed: int
    resumed: int
    seconds: float
    rate: float
    loads_per_worker: int
    workers: int


def _digest(*arrays: NDArray[Any] | None) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes() if a is not None else b"-")
    return h.hexdigest()[:16]


def run_job(
    job: Job,
    connect: Callable[[], AbstractContextManager[Any]],
    resume: bool = False,
    stream: IO[str] | None = None,
    quiet: bool = False,
) -> Outcome:
    """Run ``job`` on the cluster that ``connect`` gives (module docstring)."""
    obs = job.screening.observations
    spans = chunk_spans(len(job.axis), job.chunk_steps)
    partial = open_partial(
        job.out, {"identity": job.identity(), "command": job.attrs.get("command", "")}, resume
    )
    try:
        side = write_skipped(partial.root / "skipped.csv", _skipped(job))
        if not partial.done:  # a fresh job, or one killed before any chunk completed
            in_domain = _in_domain(job)
            create_store(
                partial.data,
                template(job.grid, job.axis, obs, in_domain, job.units, job.chunk_steps, job.attrs),
            )
        todo = [i for i in range(len(spans)) if i not in partial.done]
        before = sum(spans[i][1] - spans[i][0] for i in partial.done)
        progress = Progress(len(job.axis), before, len(todo), stream, quiet)
        results: list[ChunkResult] = []

        def done(r: ChunkResult) -> None:
            results.append(r)
            progress.update(r.steps)

        if todo:
            with connect() as client:
                dispatch(client, _worker_job(job, partial.data, partial.done_dir),
                         _chunks(obs, spans, todo), done)  # fmt: skip
        progress.close()
        final, step_notes = _final_attrs(partial.done_dir, len(job.axis))
        attrs = {**job.attrs, **final}
        if partial.job.get("command") != job.attrs.get("command"):  # resumed: say so
            attrs["command"] = partial.job.get("command", "")
            attrs["resumed_by"] = job.attrs.get("command", "")
        finish(partial.data, job.out, job.fmt, attrs, (side, skipped_path(job.out)), step_notes)
        remove(partial)
    except BaseException:
        if not completed(partial.done_dir):  # nothing computed: nothing to resume
            remove(partial)
        raise
    finally:
        partial.close()
    counts = obs.per_step(len(job.axis))
    return Outcome(
        steps=len(job.axis),
        empty_steps=int((counts == 0).sum()),
        computed=len(todo),
        resumed=len(spans) - len(todo),
        seconds=progress.elapsed(),
        rate=progress.rate(),
        loads_per_worker=max((r.loads for r in results), default=0),
        workers=len({r.worker for r in results}),
    )


def _skipped(job: Job) -> pd.DataFrame:
    return job.skipped if job.skipped is not None else pd.DataFrame({"where": [], "reason": []})


def _in_domain(job: Job) -> NDArray[np.bool_]:
    la, lo = job.grid.mesh()
    if job.equivariant_only:
        return np.zeros(la.shape, bool)
    return job.bundle.in_domain(la, wrap_longitude(lo))


def _worker_job(job: Job, data: Path, done_dir: Path) -> WorkerJob:
    return WorkerJob(
        bundle_path=str(job.bundle.path.resolve()),
        bundle_sha256=job.bundle.sha256,
        device=job.device,
        threads=job.threads,
        lat=job.grid.lat,
        lon=job.grid.lon,
        target_elevation=job.target_elevation,
        units=job.units,
        equivariant_only=job.equivariant_only,
        batch_steps=job.batch_steps,
        store=str(data.resolve()),
        done_dir=str(done_dir.resolve()),
    )


def _chunks(obs: Observations, spans: list[tuple[int, int]], todo: list[int]) -> Iterator[Chunk]:
    for i in todo:
        a, b = spans[i]
        s = obs.span(a, b)
        yield Chunk(
            i, a, b, obs.step[s], obs.lat[s], obs.lon[s], obs.value_k[s], obs.elevation_m[s]
        )


MAX_NOTES = 12  # distinct notes listed in the global attributes (each step has its own)


def _final_attrs(done_dir: Path, n_steps: int) -> tuple[dict[str, str], NDArray[np.str_]]:
    """What only the completed chunks know: where elevations came from, the notes of every
    step (``step_notes``, as the service's ``notes``) and, overall, how many steps had each."""
    done = reports(done_dir)
    sources = sorted({s for r in done for s in r["elevation_source"]})
    out = {"date_created": datetime.now(UTC).isoformat(timespec="seconds")}
    out["elevation_source"] = ", ".join(sources) or "none (no step had stations)"
    devices = sorted({r.get("device", "") for r in done} - {""})
    if devices:
        out["devices_used"] = ", ".join(devices)
    per_step = np.full(n_steps, "", dtype=object)
    for r in done:
        for step, notes in r.get("step_notes", {}).items():
            per_step[int(step)] = "\n".join(notes)  # a note may hold "; " itself
    counts = Counter(n for r in done for ns in r.get("step_notes", {}).values() for n in ns)
    gridded = sum(len(r.get("step_notes", {})) for r in done)
    if counts:
        listed = [
            n if k == gridded else f"{n} [{k} of {gridded} steps]"
            for n, k in counts.most_common(MAX_NOTES)
        ]
        more = len(counts) - len(listed)
        out["model_notes"] = "\n".join(listed) + (f"\nand {more} more" if more > 0 else "")
    return out, per_step.astype(str)
