"""Every row of a station table accounted for: used, merged into a duplicate, or skipped.

:func:`screen` applies the core's station rules (:func:`inference.stations.row_problems`,
:func:`inference.stations.duplicate_groups`: the same rules as the API's validator) to all
rows at once and, instead of failing on the first bad row, skips each with a reason:

- bad rows (:data:`BAD`): an unreadable time, a non-finite coordinate or value, a latitude
  or longitude out of range, an implausible value, a duplicate position within one step
  whose values differ by more than the duplicate tolerance (every row of that position);
- rows the job does not ask for (:data:`UNASKED`): times not on the job's time axis, and
  stations farther outside the grid than the model reaches (``margin``: the model's reach,
  :func:`inference.reach.reach_deg`, the rule the service's notes use; for a model without
  a lattice :data:`~pipelines.batch.plan.NEAR_DEG`).

Agreeing duplicates are averaged into the first (counted as merged). :func:`skipped_rows`
lists every skipped row with its place in the file (``line 17``); the list is published as
a CSV beside the output together with it (:func:`skipped_path`), or, for a job refused
before work (``--strict``), beside it under another name (:func:`rejected_path`), so a
failed run never replaces the side file of the previous good one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from inference.files import atomic_path
from inference.stations import PROBLEMS, duplicate_groups, row_problems
from inference.units import from_kelvin
from pipelines.data.station_table import StationTable

from .plan import NEAR_DEG, TimeAxis, near_box

BAD = (
    "unparseable_time",
    *(name for name, _ in PROBLEMS.values()),
    "conflicting_duplicate",
)
UNASKED = ("outside_time_axis", "far_from_grid")
REASONS = ("", *BAD, *UNASKED)  # code -> name; 0: used
_CODE = {name: i for i, name in enumerate(REASONS)}


@dataclass(frozen=True)
class Observations:
    """What a job grids, sorted by step: one row per station and step (duplicates merged);
    ``record`` is the table row each came from (the first of merged duplicates)."""

    step: NDArray[np.int64]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    value_k: NDArray[np.float64]
    elevation_m: NDArray[np.float64]
    station_id: NDArray[np.str_]
    record: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.step)

    def per_step(self, n_steps: int) -> NDArray[np.int32]:
        return np.bincount(self.step, minlength=n_steps).astype(np.int32)

    def span(self, start: int, stop: int) -> slice:
        """The observations of steps ``start .. stop - 1``."""
        a, b = np.searchsorted(self.step, [start, stop], side="left")
        return slice(int(a), int(b))


@dataclass(frozen=True)
class Screening:
    """The verdict on every table row (``reason``: a code of :data:`REASONS`, 0 used)."""

    observations: Observations
    reason: NDArray[np.int8]
    merged: int
    rows: int

    def count(self, name: str) -> int:
        return int(np.count_nonzero(self.reason == _CODE[name]))

    @property
    def counts(self) -> dict[str, int]:
        """Skipped rows by reason (reasons that occurred only)."""
        found = np.bincount(self.reason, minlength=len(REASONS))
        return {REASONS[i]: int(n) for i, n in enumerate(found) if i and n}

    @property
    def bad(self) -> int:
        return sum(n for r, n in self.counts.items() if r in BAD)

    @property
    def skipped(self) -> int:
        return int(np.count_nonzero(self.reason))

    def summary(self) -> str:
        """One line: rows read, used, merged and skipped by reason."""
        skipped = ", ".join(f"{r} {n}" for r, n in self.counts.items()) or "none"
        return (
            f"{self.rows} rows: {self.rows - self.skipped - self.merged} observations used, "
            f"{self.merged} duplicates merged, {self.skipped} skipped ({skipped})"
        )

    def attrs(self) -> dict[str, int]:
        """Counts for the output's attributes."""
        out = {"rows_read": self.rows, "rows_merged": self.merged, "rows_skipped": self.skipped}
        out["bad_rows"] = self.bad
        return out | {f"skipped_{r}": self.count(r) for r in (*BAD, *UNASKED)}


def screen(
    table: StationTable,
    axis: TimeAxis,
    box: tuple[float, float, float, float],
    margin: float = NEAR_DEG,
) -> Screening:
    """Judge every row of ``table`` for a job on ``axis`` and the grid ``box`` (W, S, E, N)."""
    n = len(table)
    reason = np.zeros(n, np.int8)
    problem = row_problems(table.lat, table.lon, table.value_k, table.elevation_m)
    reason[problem > 0] = problem[problem > 0] + _CODE["non_finite"] - 1
    if table.time is not None:
        reason[np.isnat(table.time)] = _CODE["unparseable_time"]
    step = axis.step_of(table.time) if table.time is not None else np.zeros(n, np.int64)
    ok = reason == 0
    reason[ok & (step < 0)] = _CODE["outside_time_axis"]
    ok = reason == 0
    reason[ok & ~near_box(table.lat, table.lon, box, margin)] = _CODE["far_from_grid"]
    rows = np.flatnonzero(reason == 0)
    g = duplicate_groups(
        table.lat[rows], table.lon[rows], table.value_k[rows], table.elevation_m[rows], step[rows]
    )
    reason[rows[g.conflict[g.group]]] = _CODE["conflicting_duplicate"]
    keep = ~g.conflict
    first = rows[g.first[keep]]
    order = np.argsort(step[first], kind="stable")
    first = first[order]
    obs = Observations(
        step=step[first],
        lat=table.lat[first],
        lon=table.lon[first],
        value_k=g.value_k[keep][order],
        elevation_m=g.elevation_m[keep][order],
        station_id=table.station_id[first],
        record=first.astype(np.int64),
    )
    merged = int((g.size[keep] - 1).sum())
    return Screening(obs, reason, merged, n)


def skipped_path(out: Path) -> Path:
    """The side file beside an output: ``grid.nc`` -> ``grid.nc.skipped.csv`` (published with
    the output, never by a run that fails)."""
    return out.with_name(out.name + ".skipped.csv")


def rejected_path(out: Path) -> Path:
    """Where a refused job (``--strict``, or no usable row) lists its skipped rows:
    ``grid.nc`` -> ``grid.nc.rejected.csv``, so the previous run's side file stays."""
    return out.with_name(out.name + ".rejected.csv")


def skipped_rows(table: StationTable, screening: Screening) -> pd.DataFrame:
    """Every skipped row with its place in the file, its reason and its values."""
    idx = np.flatnonzero(screening.reason)
    return pd.DataFrame(
        {
            "where": [table.where(int(i)) for i in idx],
            "reason": np.asarray(REASONS, dtype=object)[screening.reason[idx]],
            "time": table.time[idx] if table.time is not None else "",
            "station_id": table.station_id[idx],
            "lat": table.lat[idx],
            "lon": table.lon[idx],
            f"value_{table.units.value}": from_kelvin(table.value_k[idx], table.units),
        }
    )


def write_skipped(path: Path, rows: pd.DataFrame) -> Path:
    """The skipped rows as CSV (atomic): values to 10 significant digits (18.33, not the
    18.329999999999984 of a round trip through kelvin), times always as ISO 8601 instants."""
    with atomic_path(path) as tmp:
        rows.to_csv(tmp, index=False, float_format="%.10g", date_format="%Y-%m-%dT%H:%M:%S")
    return path
