"""Read ERA5 2 m temperature as users have it, into one tidy ``t2m(time, latitude, longitude)``.

Handled schemas (all names through :mod:`pipelines.data.lexicon`):

- old CDS netCDF: netCDF3, int16 packed (``scale_factor``/``add_offset``, decoded by xarray),
  latitude descending, longitude 0..360, sometimes an ``expver`` dimension (1 = ERA5,
  5 = preliminary ERA5T) in which each time has data in one of the two;
- new CDS netCDF: netCDF4, time called ``valid_time``, scalar ``number`` and per-time
  ``expver`` coordinates;
- GRIB through cfgrib (optional extra ``grib``);
- tidy netCDF (``../shared/data``): ``t2m(time, latitude, longitude)``, ascending latitude.

The result is float32 in K, latitude ascending, longitude ascending in [-180, 180), time
ascending, with no other coordinates, or a :class:`~inference.errors.DataError` naming file
and problem.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dask
import numpy as np
import xarray as xr

from inference.coords import SPATIAL, only_dims, rename_coords, same_points, standardise
from inference.errors import DataError, one_line
from inference.units import PLAUSIBLE_K, TemperatureUnit, canonical_units
from inference.units import to_kelvin as convert_to_kelvin

from .lexicon import find_variable, names_tried

GRIB_SUFFIXES = {".grib", ".grb", ".grib1", ".grib2", ".grb2"}
# duplicate times across files are kept once if they agree to this (K); int16-packed CDS
# files resolve about 1e-3 K, so two packings of the same field differ by less than this
DUPLICATE_TOLERANCE_K = 0.01
DIMS = ("time", "latitude", "longitude")
# (lat, lon) box of the ERA5 UK month (the shared data's training region): the default
# model's fixed-input domain, and the demo's where a bundle declares none
UK_DOMAIN = ((50.0, 58.0), (-10.0, 2.0))


def is_grib(path: Path) -> bool:
    """A GRIB file, by suffix or by its first four bytes."""
    if path.suffix.lower() in GRIB_SUFFIXES:
        return True
    with path.open("rb") as f:
        return f.read(4) == b"GRIB"


def open_source(path: Path, grib_filter: dict[str, Any] | None = None) -> xr.Dataset:
    """Open a netCDF (3 or 4) or GRIB file lazily; unreadable input raises DataError."""
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if not path.is_file():
        raise DataError(f"{path}: not a regular file")
    kwargs: dict[str, Any] = {"chunks": {}}
    if is_grib(path):
        try:
            importlib.import_module("cfgrib")
        except ImportError:
            raise DataError(
                f"{path}: reading GRIB needs cfgrib: pip install 'equigrid[grib]'"
            ) from None
        # indexpath "": never write .idx files beside the user's data
        kwargs |= {"engine": "cfgrib", "backend_kwargs": {"indexpath": ""}}
        if grib_filter:
            kwargs["backend_kwargs"]["filter_by_keys"] = grib_filter
    try:
        return xr.open_dataset(path, **kwargs)
    except (OSError, ValueError, RuntimeError, KeyError, TypeError) as e:
        raise DataError(f"{path}: cannot read ({one_line(e)})") from None


def combine_expver(da: xr.DataArray) -> xr.DataArray:
    """Merge an ``expver`` dimension: per time, the first non-missing in expver order.

    Sorted ascending, so final ERA5 (1) is preferred over preliminary ERA5T (5).
    """
    if "expver" not in da.dims:
        return da
    da = da.sortby("expver")
    out = da.isel(expver=0, drop=True)
    for i in range(1, da.sizes["expver"]):
        out = out.fillna(da.isel(expver=i, drop=True))
    return out


def to_kelvin(da: xr.DataArray, source: str) -> xr.DataArray:
    """Temperature in K from K or degC; any other (or no) units attribute is an error."""
    units = da.attrs.get("units")
    ours = canonical_units(units)
    if ours not in (TemperatureUnit.K.value, TemperatureUnit.degC.value):
        raise DataError(f"{source}: unknown units {units!r} for 2 m temperature (K or degC)")
    return convert_to_kelvin(da, str(ours))


def check_values(da: xr.DataArray, source: str, units: object) -> None:
    """Reject missing values and implausible temperatures (one pass over the data);
    outside :data:`inference.units.PLAUSIBLE_K` the units attribute is probably wrong."""
    missing, lo, hi = dask.compute(da.isnull().sum(("latitude", "longitude")), da.min(), da.max())
    n_missing = int(missing.sum())
    if n_missing == da.size:
        raise DataError(f"{source}: 2 m temperature is all missing (NaN)")
    if n_missing:
        bad = missing.time.values[missing.values > 0]
        raise DataError(
            f"{source}: 2 m temperature has {n_missing} missing values at {bad.size} "
            f"time steps (first {np.datetime_as_string(bad[0], unit='m')})"
        )
    lo, hi = float(lo), float(hi)
    if lo < PLAUSIBLE_K[0] or hi > PLAUSIBLE_K[1]:
        raise DataError(
            f"{source}: 2 m temperature {lo:.1f}..{hi:.1f} K is implausible; "
            f"check the units attribute (it says {units!r})"
        )


def read_t2m(path: str | Path) -> xr.DataArray:
    """Read one file into ``t2m(time, latitude, longitude)`` float32 K, checked and tidy."""
    ds = open_source(Path(path), grib_filter={"shortName": "2t"})
    try:
        return t2m_from(ds, str(path))
    except (OSError, RuntimeError) as e:  # data read lazily: a corrupt chunk shows up here
        raise DataError(f"{path}: cannot read ({one_line(e)})") from None


def t2m_from(ds: xr.Dataset, source: str) -> xr.DataArray:
    """The checked, tidy 2 m temperature of a dataset in any supported schema."""
    name = find_variable(ds, "t2m")
    if name is None:
        found = ", ".join(map(str, ds.data_vars)) or "none"
        raise DataError(
            f"{source}: no 2 m temperature variable ({names_tried('t2m')}; found {found})"
        )
    ds = rename_coords(ds[[name]])
    da = ds[name]
    if "time" in da.coords and "time" not in da.dims and da["time"].ndim == 0:
        da = da.expand_dims("time")  # a single-time GRIB message
    units = da.attrs.get("units")
    da = only_dims(combine_expver(da), DIMS, source)
    da = standardise(to_kelvin(da, source), source)
    check_values(da, source, units)
    return tidy(da)


def tidy(da: xr.DataArray) -> xr.DataArray:
    """Our name, dtype and attributes for 2 m temperature."""
    out = da.astype(np.float32).rename("t2m")
    out.attrs = {
        "units": "K",
        "standard_name": "air_temperature",
        "long_name": "2 metre temperature",
    }
    return out


def combine_times(fields: Sequence[xr.DataArray], sources: Sequence[str]) -> xr.DataArray:
    """Concatenate tidy fields along time, sorted.

    All fields must share the grid. A time present in several files is kept once if the
    values agree within :data:`DUPLICATE_TOLERANCE_K`; otherwise it is an error.
    """
    first = fields[0]
    for da, src in zip(fields[1:], sources[1:], strict=True):
        if not all(same_points(da[c].values, first[c].values) for c in SPATIAL):
            raise DataError(f"{src}: grid differs from that of {sources[0]}")
    aligned = [
        da.assign_coords(latitude=first.latitude, longitude=first.longitude) for da in fields
    ]
    origin = np.concatenate([np.full(da.sizes["time"], i) for i, da in enumerate(fields)])
    combined = xr.concat(aligned, "time").assign_coords(origin=("time", origin))
    combined = combined.isel(time=np.argsort(combined["time"].values, kind="stable"))
    repeated = combined.indexes["time"].duplicated(keep="first")
    if repeated.any():
        kept = combined.isel(time=~repeated)
        extra = combined.isel(time=repeated)
        ref = kept.sel(time=extra["time"].values)
        diff = abs(extra - ref.values).max(("latitude", "longitude")).compute()
        if float(diff.max()) > DUPLICATE_TOLERANCE_K:
            i = int(diff.values.argmax())
            t = np.datetime_as_string(extra["time"].values[i], unit="m")
            a, b = sources[int(ref["origin"].values[i])], sources[int(extra["origin"].values[i])]
            raise DataError(
                f"duplicate time {t} with different values in {a} and {b} "
                f"(max difference {float(diff.max()):.3g} K)"
            )
        combined = kept
    return combined.drop_vars("origin")
