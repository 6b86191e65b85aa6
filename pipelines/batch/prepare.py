"""From a station table and the command's options to a :class:`~.gridding.Job`, before any work.

:func:`prepare_job` chooses the grid (``--bbox``, or the stations' box plus a margin, said
in the messages), screens every row (:mod:`.screening`; the list of skipped rows goes with
the job, to be published with the output), refuses the job under ``--strict`` if any row is
bad (writing only that list, as ``OUT.rejected.csv``),
warns where no station is near the grid or steps have no stations, fills the grid's cell
elevations from the DEMs (a file or a folder of tiles, :class:`inference.dems.Dems`, as the
service; cells outside every DEM get none, and the output says so), and gathers the output's
provenance attributes. The messages are for stderr; warnings also go into the output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from inference.bundle import Bundle, code_version
from inference.coords import lat_ok, lon_ok, wrap_longitude
from inference.dems import Dems
from inference.errors import GridError, StationError
from inference.reach import reach_deg
from inference.targets import TargetGrid
from inference.units import TemperatureUnit
from pipelines.data.station_table import StationTable

from .gridding import Job
from .output import OutputFormat
from .plan import NEAR_DEG, station_box, time_axis
from .screening import (
    BAD,
    REASONS,
    Screening,
    rejected_path,
    screen,
    skipped_path,
    skipped_rows,
    write_skipped,
)


@dataclass(frozen=True)
class GridOptions:
    """The command's choices (``equigrid grid --help`` explains each)."""

    out: Path
    resolution: float
    fmt: OutputFormat = OutputFormat.netcdf
    bbox: tuple[float, float, float, float] | None = None
    units: TemperatureUnit | None = None
    start: str | None = None
    end: str | None = None
    freq: str | None = None
    dem: Path | None = None
    equivariant_only: bool = False
    device: str = "cpu"
    chunk_steps: int = 24
    batch_steps: int = 8
    strict: bool = False
    command: str = "equigrid grid"


@dataclass
class Prepared:
    job: Job
    screening: Screening
    messages: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def prepare_job(table: StationTable, bundle: Bundle, o: GridOptions) -> Prepared:
    """Everything decided before work starts (module docstring)."""
    messages: list[str] = []
    warnings: list[str] = []
    axis = time_axis(table.time, o.start, o.end, o.freq)
    if not o.resolution > 0:
        raise GridError(f"--resolution {o.resolution:g}: must be positive")
    if o.bbox is None:  # the box of the stations with valid positions at the job's times
        with np.errstate(invalid="ignore"):
            valid = lat_ok(table.lat) & lon_ok(table.lon)
        if table.time is not None:
            valid &= axis.step_of(table.time) >= 0
        box = station_box(table.lat[valid], table.lon[valid], o.resolution)
        source = "the stations' bounding box plus a margin (no --bbox)"
    else:
        box, source = o.bbox, "--bbox"
    grid = TargetGrid.from_bbox(*box, o.resolution)
    bbox_text = ",".join(f"{v:g}" for v in box)
    messages.append(
        f"grid {bbox_text} (W,S,E,N) at {o.resolution:g} deg: {grid.shape[0]} x {grid.shape[1]} "
        f"cells from {source}; {len(axis)} time steps: {axis.described}"
    )
    margin = reach_deg(bundle) or NEAR_DEG
    screening = screen(table, axis, box, margin)
    skipped, side = skipped_rows(table, screening), skipped_path(o.out)
    messages.append(f"{screening.summary()}; skipped rows will be listed in {side}")
    if (o.strict and screening.bad) or screening.bad == screening.rows:
        rejected = write_skipped(rejected_path(o.out), skipped)  # the output's side file stays
        if o.strict and screening.bad:
            raise StationError(_strict_message(table, screening, rejected))
        raise StationError(f"no usable row in {table.source}: every row is bad; see {rejected}")
    obs = screening.observations
    if len(obs) == 0:
        warnings.append(
            f"no station lies within {margin:.1f} deg (the model's reach) of the grid "
            f"{bbox_text} in the time steps asked for: every step is missing"
        )
    empty = int((obs.per_step(len(axis)) == 0).sum())
    if empty and len(obs):
        warnings.append(f"{empty} of {len(axis)} time steps have no stations: written as missing")
    outside = _outside_domain(bundle, grid, o.equivariant_only)
    if outside:
        messages.append(outside)
    target_elevation, cells = _cell_elevations(o.dem, grid, bundle)
    messages.append(f"cell elevations: {cells}")
    units = o.units or table.units
    attrs = _provenance(bundle, table, o, screening, warnings) | {
        "grid_bbox": bbox_text,
        "grid_resolution_deg": o.resolution,
        "grid_source": source,
        "time_axis": axis.described,
        "station_margin_deg": round(margin, 3),
        "cell_elevations": cells,
        "skipped_rows_file": side.name,
    }
    job = Job(
        out=o.out,
        fmt=o.fmt,
        grid=grid,
        axis=axis,
        screening=screening,
        bundle=bundle,
        units=units,
        device=o.device,
        equivariant_only=o.equivariant_only,
        chunk_steps=o.chunk_steps,
        batch_steps=o.batch_steps,
        target_elevation=target_elevation,
        attrs=attrs,
        skipped=skipped,
    )
    return Prepared(job, screening, messages, warnings)


def _outside_domain(bundle: Bundle, grid: TargetGrid, equivariant_only: bool) -> str:
    """What serves the cells outside the model's trained domain ("" if none are)."""
    if equivariant_only:
        return "--equivariant-only: the model's equivariant component serves every cell"
    la, lo = grid.mesh()
    out = int((~bundle.in_domain(la, wrap_longitude(lo))).sum())
    if not out:
        return ""
    return (
        f"{out} of {grid.size} cells lie outside the model's trained domain "
        f"{bundle.domain}: its equivariant component serves them (in_domain = 0)"
    )


def _strict_message(table: StationTable, s: Screening, side: Path) -> str:
    bad = np.flatnonzero(np.isin(s.reason, [REASONS.index(r) for r in BAD]))
    counts = ", ".join(f"{r} {n}" for r, n in s.counts.items() if r in BAD)
    first = int(bad[0])
    return (
        f"--strict: {s.bad} bad rows ({counts}); the first is {table.source} "
        f"{table.where(first)} ({REASONS[s.reason[first]]}); all are listed in {side}"
    )


def _cell_elevations(dem: Path | None, grid: TargetGrid, bundle: Bundle) -> tuple[Any, str]:
    """The DEMs' heights at the grid's cells (float32 ``[n_lat, n_lon]``, NaN where no DEM
    covers a cell) and what was done, in words."""
    if dem is None:
        return None, (
            "not used: no --dem, so cell elevations were not given to the model (it fills "
            "them from its own orography where it has one, else with its training mean)"
        )
    dems = Dems.load(dem)  # a file or a folder of tiles, as the service's EQUIGRID_DEM
    if not bundle.point_aux:
        return None, f"not used: the model takes no point-wise elevation (--dem {dem} ignored)"
    la, lo = grid.mesh()
    filled = dems.fill(la, lo)
    said = dems.note(filled, grid.size) or f"not used: no DEM (*.nc, *.tif) in {dem}"
    if filled.from_dem == 0:
        return None, said
    return filled.elevation.astype(np.float32), f"{said}; resampled bilinearly from {dem}"


def _provenance(
    bundle: Bundle, table: StationTable, o: GridOptions, s: Screening, warnings: list[str]
) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "title": "equigrid gridded near-surface air temperature",
        "source": f"equigrid model {bundle.name} {bundle.version} sha256:{bundle.sha256}",
        "history": f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {o.command}",
        "command": o.command,
        "equigrid_version": code_version(),
        "model_name": bundle.name,
        "model_version": bundle.version,
        "model_sha256": bundle.sha256,
        "stations_file": table.source,
        "stations_units": table.units.value,
        "equivariant_only": int(o.equivariant_only),
        "steps_per_forward_pass": o.batch_steps,
        "chunk_steps": o.chunk_steps,
        "device": o.device,
        **s.attrs(),
    }
    if warnings:
        attrs["warnings"] = "; ".join(warnings)
    return attrs
