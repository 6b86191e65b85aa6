"""Station observations and the ONE validator that every source converts into.

The API schema (:mod:`service.schemas`) hands its stations to :func:`validate_stations`, and
batch gridding (:mod:`pipelines.batch.screening`) applies the same rules to every row of a
station table at once, so the rules are the same whichever way stations arrive:

- latitude, longitude and value are finite; latitude in [-90, 90], longitude in [-180, 360]
  (both conventions);
- values lie in the plausible range :data:`inference.units.PLAUSIBLE_K` (-90..60 degC);
- elevations, where known (NaN means unknown), lie in :data:`ELEVATION_RANGE_M`
  (-500..9000 m): a no-data code such as -9999 is an error, never a height;
- **duplicate positions**: stations at the same position (latitude, and longitude after
  wrapping, equal to 1e-6 degree) within one time step are averaged into one station when
  their values agree within :data:`DUPLICATE_TOLERANCE_K` (0.1 K), and refused otherwise:
  two different temperatures at one place are an error in the data, not something to
  average away. Elevations of merged stations are averaged over those that are known.

Errors are :class:`~inference.errors.StationError` naming the offending entries through the
caller's ``label`` (``stations[3]`` for the API, ``FILE line 5`` for a CSV).

The same rules, vectorised over many rows and time steps, are :func:`row_problems` (which
check a row fails first, as a code of :data:`PROBLEMS`) and :func:`duplicate_groups` (rows
that share a position within one step, which of those groups conflict, and their merged
values): batch gridding skips and counts the rows that :func:`validate_stations` would
refuse, instead of failing on the first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .coords import LAT_RANGE, LON_RANGE, lat_ok, lon_ok, wrap_longitude
from .errors import StationError
from .units import TemperatureUnit, from_kelvin, plausible_range

DUPLICATE_TOLERANCE_K = 0.1
ELEVATION_RANGE_M = (-500.0, 9000.0)  # below the Dead Sea shore .. above Everest
POSITION_DECIMALS = 6

Label = Callable[[int], str]


@dataclass(frozen=True)
class Stations:
    """Validated stations of one time step: values in K, elevation in m (NaN where unknown).

    Positions are as given (longitudes not wrapped); ``merged`` counts the duplicate entries
    that were averaged into others.
    """

    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    value_k: NDArray[np.float64]
    elevation_m: NDArray[np.float64]
    time: datetime | None = None
    merged: int = 0

    def __len__(self) -> int:
        return len(self.lat)


def _entry(i: int) -> str:
    return f"stations[{i}]"


def validate_stations(
    lat: ArrayLike,
    lon: ArrayLike,
    value_k: ArrayLike,
    elevation_m: ArrayLike | None = None,
    *,
    units: str | TemperatureUnit = TemperatureUnit.K,
    time: datetime | None = None,
    label: Label = _entry,
) -> Stations:
    """Check stations of one time step and merge duplicate positions (module docstring).

    ``units`` is the unit the values were given in (messages quote values in it).
    """
    la, lo, val = (np.asarray(a, dtype=np.float64).ravel() for a in (lat, lon, value_k))
    n = len(la)
    elev = (
        np.full(n, np.nan) if elevation_m is None else np.asarray(elevation_m, np.float64).ravel()
    )
    if n == 0:
        raise StationError("no observations")
    if not (len(lo) == len(val) == len(elev) == n):
        raise StationError("stations need equally long lat, lon, value and elevation arrays")
    problem = row_problems(la, lo, val, elev)
    for code in (1, 2, 3):
        _first_bad(problem == code, label, PROBLEMS[code][1])
    outside = problem == 4
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        lo_u, hi_u = plausible_range(units)
        v = float(from_kelvin(float(val[i]), units))
        more = f" ({int(outside.sum())} values in all)" if outside.sum() > 1 else ""
        raise StationError(
            f"{label(i)} value {v:g} is outside the plausible range [{lo_u:g}, {hi_u:g}] "
            f"for units {TemperatureUnit(units).value}{more}"
        )
    _first_bad(problem == 5, label, PROBLEMS[5][1])
    return _merge_duplicates(la, lo, val, elev, time, label)


def _span(bounds: tuple[float, float], sep: str = ", ") -> str:
    return f"{bounds[0]:g}{sep}{bounds[1]:g}"


# code -> (name, what the validator says); 0 means the row is fine. Checked in this order.
# The bounds in the messages are the constants the checks use.
PROBLEMS: dict[int, tuple[str, str]] = {
    1: ("non_finite", "has a non-finite lat, lon or value"),
    2: ("latitude_range", f"latitude lies outside [{_span(LAT_RANGE)}]"),
    3: ("longitude_range", f"longitude lies outside [{_span(LON_RANGE)}]"),
    4: (
        "implausible_value",
        f"value is outside the plausible range ({_span(plausible_range('degC'), '..')} degC)",
    ),
    5: (
        "implausible_elevation",
        f"elevation is outside {_span(ELEVATION_RANGE_M, '..')} m (a no-data code?)",
    ),
}


def row_problems(
    lat: ArrayLike, lon: ArrayLike, value_k: ArrayLike, elevation_m: ArrayLike | None = None
) -> NDArray[np.int8]:
    """Per row, the code of the first rule of :data:`PROBLEMS` it breaks (0: none)."""
    la, lo, val = (np.asarray(a, dtype=np.float64).ravel() for a in (lat, lon, value_k))
    elev = (
        np.full(len(la), np.nan)
        if elevation_m is None
        else np.asarray(elevation_m, np.float64).ravel()
    )
    lo_k, hi_k = plausible_range(TemperatureUnit.K)
    lo_m, hi_m = ELEVATION_RANGE_M
    with np.errstate(invalid="ignore"):
        checks = (
            ~(np.isfinite(la) & np.isfinite(lo) & np.isfinite(val)),
            ~lat_ok(la),
            ~lon_ok(lo),
            (val < lo_k) | (val > hi_k),
            (elev < lo_m) | (elev > hi_m) | np.isinf(elev),
        )
    code = np.zeros(len(la), dtype=np.int8)
    for c, bad in reversed(list(enumerate(checks, start=1))):  # the first broken rule wins
        code[bad] = c
    return code


@dataclass(frozen=True)
class DuplicateGroups:
    """Rows grouped by (step, position); groups numbered in the order of their first row.

    ``group[row]``, and per group: ``first`` row, ``conflict`` (values spread more than
    :data:`DUPLICATE_TOLERANCE_K`), the merged ``value_k`` (mean) and ``elevation_m`` (mean
    of the known ones, NaN if none) and ``size``.
    """

    group: NDArray[np.int64]
    first: NDArray[np.int64]
    conflict: NDArray[np.bool_]
    value_k: NDArray[np.float64]
    elevation_m: NDArray[np.float64]
    size: NDArray[np.int64]


def duplicate_groups(
    lat: ArrayLike,
    lon: ArrayLike,
    value_k: ArrayLike,
    elevation_m: ArrayLike,
    step: ArrayLike | None = None,
) -> DuplicateGroups:
    """The duplicate-position rule over rows of valid stations, per ``step`` (one if None)."""
    la, lo, val, elev = (
        np.asarray(a, dtype=np.float64).ravel() for a in (lat, lon, value_k, elevation_m)
    )
    keys = np.round(np.stack([la, wrap_longitude(lo)], axis=-1), POSITION_DECIMALS)
    if step is not None:
        keys = np.concatenate([np.asarray(step, np.float64).reshape(-1, 1), keys], axis=1)
    _, first, group = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first)  # groups in the order of their first row
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    group = rank[group.ravel()].astype(np.int64)
    n = len(order)
    lo_v = np.full(n, np.inf)
    hi_v = np.full(n, -np.inf)
    np.minimum.at(lo_v, group, val)
    np.maximum.at(hi_v, group, val)
    size = np.bincount(group, minlength=n)
    known = np.isfinite(elev)
    n_elev = np.bincount(group, weights=known.astype(np.float64), minlength=n)
    sum_elev = np.bincount(group, weights=np.where(known, elev, 0.0), minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_elev = np.where(n_elev > 0, sum_elev / np.maximum(n_elev, 1), np.nan)
    return DuplicateGroups(
        group,
        np.sort(first).astype(np.int64),
        hi_v - lo_v > DUPLICATE_TOLERANCE_K,
        np.bincount(group, weights=val, minlength=n) / size,
        mean_elev,
        size.astype(np.int64),
    )


def _first_bad(bad: NDArray[np.bool_], label: Label, what: str) -> None:
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        more = f" ({int(bad.sum())} in all)" if bad.sum() > 1 else ""
        raise StationError(f"{label(i)} {what}{more}")


def _merge_duplicates(
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    val: NDArray[np.float64],
    elev: NDArray[np.float64],
    time: datetime | None,
    label: Label,
) -> Stations:
    g = duplicate_groups(lat, lon, val, elev)
    if len(g.first) == len(lat):
        return Stations(lat, lon, val, elev, time)
    if g.conflict.any():
        members = np.flatnonzero(g.group == int(np.flatnonzero(g.conflict)[0]))
        i, j = sorted(int(members[k]) for k in (np.argmin(val[members]), np.argmax(val[members])))
        pos = tuple(round(float(x), POSITION_DECIMALS) for x in (lat[i], wrap_longitude(lon[i])))
        raise StationError(
            f"{label(i)} and {label(j)} share the position {pos} but their values differ by "
            f"more than {DUPLICATE_TOLERANCE_K} K"
        )
    return Stations(
        lat[g.first], lon[g.first], g.value_k, g.elevation_m, time, merged=len(lat) - len(g.first)
    )
