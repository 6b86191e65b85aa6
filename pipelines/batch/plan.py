"""What a batch job grids: its time axis, its grid's box, and how the steps are chunked.

- :class:`TimeAxis`: ``--start/--end/--freq`` define the steps (any of them: the others come
  from the stations' first and last time, ``--freq`` defaults to 1 h); without them, the
  stations' distinct times. A table without times is one step.
- :func:`station_box`: without ``--bbox``, the stations' bounding box plus
  :data:`BBOX_MARGIN_DEG`, snapped outwards to the resolution; longitudes take the shortest
  arc that holds every station (a network across the antimeridian is not the whole globe).
- :func:`near_box`: which stations lie within a margin of a grid: the model's reach
  (:func:`inference.reach.reach_deg`, the rule the service's warnings use), or
  :data:`NEAR_DEG` for a model without a lattice. The others cannot inform the grid and
  would only widen the model's internal grid.
- :func:`chunk_spans`: time chunks of a fixed number of steps. The chunks, and the steps
  per forward pass within them, depend on the job alone, never on the number of workers,
  so every chunk is computed identically wherever it runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from inference.coords import LON_RANGE, longitude_frame, wrap_into
from inference.errors import ConfigError, StationError

BBOX_MARGIN_DEG = 1.0
# without a model reach (a model without a lattice): stations farther than this (deg, in
# latitude or longitude) outside a grid are not used
NEAR_DEG = 5.0


@dataclass(frozen=True)
class TimeAxis:
    """The job's time steps (``datetime64[ns]`` UTC), or None for a table without times."""

    times: NDArray[np.datetime64] | None
    described: str

    def __len__(self) -> int:
        return 1 if self.times is None else len(self.times)

    def step_of(self, times: NDArray[np.datetime64] | None) -> NDArray[np.int64]:
        """The step of each time (-1: not on the axis); all 0 for a table without times."""
        if self.times is None or times is None:
            return np.zeros(0 if times is None else len(times), np.int64)
        return pd.DatetimeIndex(self.times).get_indexer(pd.DatetimeIndex(times)).astype(np.int64)


def time_axis(
    times: NDArray[np.datetime64] | None,
    start: str | None = None,
    end: str | None = None,
    freq: str | None = None,
) -> TimeAxis:
    """The steps of a job (module docstring); ``times`` are the table's (NaT: unreadable)."""
    given = [o for o, v in (("--start", start), ("--end", end), ("--freq", freq)) if v]
    if times is None:
        if given:
            raise ConfigError(f"{'/'.join(given)} need a station table with a time column")
        return TimeAxis(None, "one step (the station table has no times)")
    known = times[~np.isnat(times)]
    if not given:
        return TimeAxis(np.unique(known), "the stations' times")
    try:
        t0 = _utc(start) if start else (known.min() if len(known) else None)
        t1 = _utc(end) if end else (known.max() if len(known) else None)
        if t0 is None or t1 is None:
            raise StationError("no readable time in the station table to start or end at")
        axis = pd.date_range(t0, t1, freq=freq or "1h")
    except (ValueError, TypeError) as e:
        raise ConfigError(f"--start/--end/--freq: {e}") from None
    if len(axis) == 0:
        raise ConfigError(f"--start {t0} lies after --end {t1}: no time steps")
    described = f"{axis[0]:%Y-%m-%dT%H:%M} to {axis[-1]:%Y-%m-%dT%H:%M} every {freq or '1h'}"
    return TimeAxis(axis.to_numpy("datetime64[ns]"), described)


def _utc(text: str) -> pd.Timestamp:
    t = pd.Timestamp(text)
    return t.tz_convert("UTC").tz_localize(None) if t.tzinfo else t


def lon_arc(lon: NDArray[np.float64]) -> tuple[float, float]:
    """(west, east) of the shortest arc holding every longitude; east may exceed 180 (the
    frame that keeps them contiguous, :func:`inference.coords.longitude_frame`)."""
    framed = wrap_into(lon, longitude_frame(lon))
    return float(framed.min()), float(framed.max())


def station_box(
    lat: NDArray[np.float64], lon: NDArray[np.float64], resolution: float
) -> tuple[float, float, float, float]:
    """W, S, E, N around the stations: their box plus :data:`BBOX_MARGIN_DEG`, snapped."""
    if len(lat) == 0:
        raise StationError("no station with valid coordinates to take a grid from; give --bbox")
    west, east = lon_arc(lon)
    m, r = BBOX_MARGIN_DEG, resolution
    box = (
        np.floor((west - m) / r) * r,
        max(-90.0, np.floor((float(lat.min()) - m) / r) * r),
        np.ceil((east + m) / r) * r,
        min(90.0, np.ceil((float(lat.max()) + m) / r) * r),
    )
    w, s, e, n = (round(float(v), 9) for v in box)
    if e - w > 360.0:
        e = w + np.floor(360.0 / r) * r
    if not (LON_RANGE[0] <= w and e <= LON_RANGE[1]):
        lo, hi = LON_RANGE
        end = east - 360 if east > 180 else east
        raise ConfigError(
            f"the stations span {east - west:.0f} degrees of longitude ({west:g} eastwards to "
            f"{end:g}): no grid in {lo:g}..{hi:g} holds them; give --bbox"
        )
    return w, s, e, n


def near_box(
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    box: tuple[float, float, float, float],
    margin: float = NEAR_DEG,
) -> NDArray[np.bool_]:
    """Which points lie within ``margin`` deg (lat and lon) of the box W, S, E, N."""
    w, s, e, n = box
    span = min(360.0, e - w + 2 * margin)
    offset = (np.asarray(lon, np.float64) - (w - margin)) % 360.0
    with np.errstate(invalid="ignore"):
        inside: NDArray[np.bool_] = (offset <= span) & (lat >= s - margin) & (lat <= n + margin)
    return inside


def chunk_spans(n_steps: int, chunk_steps: int) -> list[tuple[int, int]]:
    """``[start, stop)`` of every time chunk."""
    if chunk_steps < 1:
        raise ConfigError("--chunk-steps must be at least 1")
    return [(a, min(a + chunk_steps, n_steps)) for a in range(0, n_steps, chunk_steps)]
