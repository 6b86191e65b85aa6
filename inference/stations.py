"""Station observations and the ONE validator that every source converts into.

Both the CSV reader (:mod:`pipelines.data.station_table`) and the API schema
(:mod:`service.schemas`) hand their stations of one time step to :func:`validate_stations`,
so the rules are the same whichever way stations arrive:

- latitude, longitude and value are finite; latitude in [-90, 90], longitude in [-180, 360]
  (both conventions);
- values lie in the plausible range :data:`inference.units.PLAUSIBLE_K` (-90..60 degC);
- **duplicate positions**: stations at the same position (latitude, and longitude after
  wrapping, equal to 1e-6 degree) within one time step are averaged into one station when
  their values agree within :data:`DUPLICATE_TOLERANCE_K` (0.1 K), and refused otherwise:
  two different temperatures at one place are an error in the data, not something to
  average away. Elevations of merged stations are averaged over those that are known.

Errors are :class:`~inference.errors.StationError` naming the offending entries through the
caller's ``label`` (``stations[3]`` for the API, ``FILE line 5`` for a CSV).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .coords import lat_ok, lon_ok, wrap_longitude
from .errors import StationError
from .units import TemperatureUnit, from_kelvin, plausible_range

DUPLICATE_TOLERANCE_K = 0.1
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
    finite = np.isfinite(la) & np.isfinite(lo) & np.isfinite(val)
    _first_bad(~finite, label, "has a non-finite lat, lon or value")
    _first_bad(~lat_ok(la), label, "latitude lies outside [-90, 90]")
    _first_bad(~lon_ok(lo), label, "longitude lies outside [-180, 360]")
    lo_k, hi_k = plausible_range(TemperatureUnit.K)
    outside = (val < lo_k) | (val > hi_k)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        lo_u, hi_u = plausible_range(units)
        v = float(from_kelvin(float(val[i]), units))
        more = f" ({int(outside.sum())} values in all)" if outside.sum() > 1 else ""
        raise StationError(
            f"{label(i)} value {v:g} is outside the plausible range [{lo_u:g}, {hi_u:g}] "
            f"for units {TemperatureUnit(units).value}{more}"
        )
    return _merge_duplicates(la, lo, val, elev, time, label)


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
    keys = np.round(np.stack([lat, wrap_longitude(lon)], axis=-1), POSITION_DECIMALS)
    _, first, group = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    group = group.ravel()
    if len(first) == len(lat):
        return Stations(lat, lon, val, elev, time)
    order = np.argsort(first)  # groups in the order of their first station
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    group = rank[group]
    n = len(order)
    lo_v = np.full(n, np.inf)
    hi_v = np.full(n, -np.inf)
    np.minimum.at(lo_v, group, val)
    np.maximum.at(hi_v, group, val)
    conflict = np.flatnonzero(hi_v - lo_v > DUPLICATE_TOLERANCE_K)
    if conflict.size:
        members = np.flatnonzero(group == int(conflict[0]))
        i, j = sorted(int(members[k]) for k in (np.argmin(val[members]), np.argmax(val[members])))
        pos = (float(keys[i, 0]), float(keys[i, 1]))
        raise StationError(
            f"{label(i)} and {label(j)} share the position {pos} but their values differ by "
            f"more than {DUPLICATE_TOLERANCE_K} K"
        )
    count = np.bincount(group, minlength=n)
    mean_val = np.bincount(group, weights=val, minlength=n) / count
    known = np.isfinite(elev)
    n_elev = np.bincount(group, weights=known.astype(np.float64), minlength=n)
    sum_elev = np.bincount(group, weights=np.where(known, elev, 0.0), minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_elev = np.where(n_elev > 0, sum_elev / np.maximum(n_elev, 1), np.nan)
    firsts = np.sort(first)
    return Stations(lat[firsts], lon[firsts], mean_val, mean_elev, time, merged=len(lat) - n)
