"""Coordinates: names, longitude wrapping, valid ranges and the conventions of our grids.

Sources call their coordinates ``latitude``/``lat``, ``valid_time``/``time``; everything
downstream sees ``time``, ``latitude``, ``longitude`` (:func:`rename_coords`). Our grids
have ascending latitude and longitude in [-180, 180) (:func:`standardise`): a file may
store latitude north-to-south (ERA5 does) or longitude on 0..360 (old CDS files do); those
are orders, not errors. A coordinate that is not strictly monotonic in the file (repeated
or shuffled values) is an error: we would have to guess which value is meant. Longitudes of
stations and targets are accepted in both conventions and wrapped before any computation.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike, NDArray

from .errors import DataError

LAT_RANGE = (-90.0, 90.0)
LON_RANGE = (-180.0, 360.0)  # both conventions; wrapped internally
SPATIAL = ("latitude", "longitude")

COORDS: dict[str, tuple[str, ...]] = {
    # valid_time first: it is the time the value is valid at (cfgrib also has ``time`` = init)
    "time": ("valid_time", "time"),
    "latitude": ("latitude", "lat"),
    "longitude": ("longitude", "lon"),
}


def wrap_longitude(lon: ArrayLike) -> NDArray[np.float64]:
    """Longitudes in degrees east mapped to [-180, 180)."""
    return (np.asarray(lon, dtype=np.float64) + 180.0) % 360.0 - 180.0


def longitude_frame(lon: ArrayLike) -> float:
    """The western edge (deg) of a 360-degree longitude frame that keeps ``lon`` contiguous:
    -180 (the usual [-180, 180)) unless the widest gap between the longitudes lies elsewhere
    than across the antimeridian (a grid over the Pacific, 170 E to 165 W), then the middle of
    that gap, so a region across 180 degrees is one piece and not two ends of the map."""
    w = wrap_longitude(np.ravel(lon))
    if w.size < 2 or w.max() - w.min() <= 180.0:
        return -180.0  # the gap across +-180 is then at least half the circle: the widest
    w = np.unique(w)
    gaps = np.diff(np.r_[w, w[0] + 360.0])  # the last gap is the one across +-180
    k = int(np.argmax(gaps))
    if gaps[-1] >= gaps[k]:
        return -180.0
    return float(w[k] + gaps[k] / 2)


def wrap_into(lon: ArrayLike, west: float) -> NDArray[np.float64]:
    """Longitudes mapped to the frame [west, west + 360)."""
    return (np.asarray(lon, dtype=np.float64) - west) % 360.0 + west


def lat_ok(lat: ArrayLike) -> NDArray[np.bool_]:
    """Which latitudes lie in [-90, 90]."""
    a = np.asarray(lat, dtype=np.float64)
    return (a >= LAT_RANGE[0]) & (a <= LAT_RANGE[1])


def lon_ok(lon: ArrayLike) -> NDArray[np.bool_]:
    """Which longitudes lie in [-180, 360]."""
    a = np.asarray(lon, dtype=np.float64)
    return (a >= LON_RANGE[0]) & (a <= LON_RANGE[1])


def find_name(ds: xr.Dataset, names: Sequence[str]) -> Hashable | None:
    """The first of ``names`` among the variables of ``ds`` (case-sensitive first, then not)."""
    for wanted in names:
        if wanted in ds.data_vars:
            return wanted
    lowered = {n.lower() for n in names}
    for name in ds.data_vars:
        if str(name).lower() in lowered:
            return name
    return None


def rename_coords(
    obj: xr.Dataset, keep: Iterable[str] = ("time", "latitude", "longitude")
) -> xr.Dataset:
    """Rename coordinates/dimensions to our names; a preferred source name wins.

    When a file has both (cfgrib: ``time`` = initialisation and ``valid_time``), the
    preferred one takes our name and the other is dropped.
    """
    out = obj
    for ours in keep:
        present = [n for n in COORDS[ours] if n in out.variables or n in out.dims]
        if not present:
            continue
        chosen = present[0]
        if chosen in out.variables and out[chosen].ndim > 1:
            raise DataError(
                f"coordinate {chosen} is {out[chosen].ndim}-D (forecast steps?); "
                "only analysis/reanalysis fields are supported"
            )
        others = [n for n in present[1:] if n in out.variables and n not in out.dims]
        out = out.drop_vars(others)
        if chosen != ours:
            if ours in out.dims:  # e.g. a `time` dim indexed by a non-dim `valid_time`
                out = out.drop_vars([ours], errors="ignore").swap_dims({ours: chosen})
            out = out.rename({chosen: ours})
    return out


def only_dims(da: xr.DataArray, dims: Sequence[str], source: str) -> xr.DataArray:
    """Drop length-1 extra dimensions and all non-dimension coordinates; others are errors."""
    for d in da.dims:
        if d not in dims:
            if da.sizes[d] != 1:
                raise DataError(f"{source}: unexpected dimension {d} of size {da.sizes[d]}")
            da = da.isel({d: 0})
    missing = [d for d in dims if d not in da.dims]
    if missing:
        raise DataError(f"{source}: no {'/'.join(missing)} dimension")
    da = da.drop_vars([c for c in da.coords if c not in da.dims])
    return da.transpose(*dims)


def check_monotonic(da: xr.DataArray, dim: str, source: str) -> None:
    """Raise unless coordinate ``dim`` of ``da`` is strictly increasing or decreasing."""
    values = da[dim].values
    if values.size < 2:
        return
    step = np.diff(values)
    zero = step.dtype.type(0)
    if not (np.all(step > zero) or np.all(step < zero)):
        duplicated = len(np.unique(values)) < values.size
        kind = "duplicate" if duplicated else "non-monotonic"
        raise DataError(f"{source}: {kind} values in coordinate {dim}")


def standardise(da: xr.DataArray, source: str) -> xr.DataArray:
    """Check the coordinates of ``da`` and put it on our conventions (sorted ascending)."""
    for dim in da.dims:
        if dim not in da.coords:
            raise DataError(f"{source}: dimension {dim} has no coordinate values")
        check_monotonic(da, str(dim), source)
    if "longitude" in da.dims:
        da = da.assign_coords(longitude=wrap_longitude(da["longitude"].values))
        if np.unique(da["longitude"].values).size < da.sizes["longitude"]:
            raise DataError(f"{source}: duplicate longitudes after wrapping to [-180, 180)")
    for dim in da.dims:
        if da.sizes[dim] > 1 and not da.indexes[dim].is_monotonic_increasing:
            da = da.sortby(dim)
    lat = da["latitude"].values if "latitude" in da.dims else np.zeros(0)
    if lat.size and (lat.min() < -90 or lat.max() > 90):
        raise DataError(f"{source}: latitude outside [-90, 90]")
    return da


def same_points(a: NDArray[np.floating], b: NDArray[np.floating], tol: float = 1e-6) -> bool:
    """Whether two coordinate vectors hold the same points (to ``tol`` degrees)."""
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=0, atol=tol))
