"""Grid conventions shared by every source: ascending latitude, longitude in [-180, 180).

A file may store latitude north-to-south (ERA5 does) or longitude on 0..360 (old CDS
files do); those are orders, not errors. A coordinate that is not strictly monotonic in the
file (repeated or shuffled values) is an error: we would have to guess which value is meant.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from pipelines.errors import IngestError

SPATIAL = ("latitude", "longitude")


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
        raise IngestError(f"{source}: {kind} values in coordinate {dim}")


def wrap_longitude(lon: np.ndarray) -> np.ndarray:
    """Longitudes in degrees east mapped to [-180, 180)."""
    return (np.asarray(lon, dtype=np.float64) + 180.0) % 360.0 - 180.0


def standardise(da: xr.DataArray, source: str) -> xr.DataArray:
    """Check the coordinates of ``da`` and put it on our conventions (sorted ascending)."""
    for dim in da.dims:
        if dim not in da.coords:
            raise IngestError(f"{source}: dimension {dim} has no coordinate values")
        check_monotonic(da, str(dim), source)
    if "longitude" in da.dims:
        da = da.assign_coords(longitude=wrap_longitude(da["longitude"].values))
        if np.unique(da["longitude"].values).size < da.sizes["longitude"]:
            raise IngestError(f"{source}: duplicate longitudes after wrapping to [-180, 180)")
    for dim in da.dims:
        if da.sizes[dim] > 1 and not da.indexes[dim].is_monotonic_increasing:
            da = da.sortby(dim)
    lat = da["latitude"].values if "latitude" in da.dims else np.zeros(0)
    if lat.size and (lat.min() < -90 or lat.max() > 90):
        raise IngestError(f"{source}: latitude outside [-90, 90]")
    return da


def bounds(da: xr.DataArray | xr.Dataset) -> str:
    """The latitude/longitude extent of ``da``, for messages."""
    lat, lon = da["latitude"].values, da["longitude"].values
    return f"lat {lat.min():g}..{lat.max():g}, lon {lon.min():g}..{lon.max():g}"


def covers(src: xr.DataArray, target: xr.DataArray | xr.Dataset, tol: float = 1e-6) -> bool:
    """Whether the grid of ``src`` spans every latitude/longitude of ``target``."""
    return all(
        src[c].values.min() - tol <= target[c].values.min()
        and target[c].values.max() <= src[c].values.max() + tol
        for c in SPATIAL
    )


def same_points(a: np.ndarray, b: np.ndarray, tol: float = 1e-6) -> bool:
    """Whether two coordinate vectors hold the same points (to ``tol`` degrees)."""
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=0, atol=tol))
