"""The training store: one netCDF file that ingestion writes and training/evaluation read.

Why netCDF (not zarr): netCDF4 is already a core dependency, a store is one file, and one
file can be written to a temporary name and moved into place atomically, so an existing
store is never half-overwritten. The ERA5 regions users train on are small enough (a year of
hourly 0.25 deg UK data is ~1.4 GB in float32) that chunked, compressed netCDF read lazily
through xarray/dask is enough.

Schema (``equigrid_store_version = 1``):

- dims ``time``, ``latitude`` (ascending, degrees north), ``longitude`` (ascending, degrees
  east in [-180, 180));
- ``t2m(time, latitude, longitude)`` float32, K;
- optional ``orog(latitude, longitude)`` float32, m; optional ``land_fraction`` float32, 1;
- ``split(time)`` int8: 0 train, 1 validation, 2 test;
- attributes: ``t2m_mean``, ``t2m_std`` (over the training split), ``orog_mean``,
  ``orog_std`` when orography is present, ``provenance`` (a JSON string: inputs with
  checksums, command, time of writing).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from inference.errors import StoreError, one_line
from inference.files import atomic_path

STORE_VERSION = 1
SPLITS = {"train": 0, "val": 1, "test": 2}
# the standard split of a month: days 1-21 train, 22-24 validation, 25-31 test
DEFAULT_SPLIT_DAYS: tuple[tuple[int, int], ...] = ((1, 21), (22, 24), (25, 31))


def split_by_day(
    times: Sequence[Any], days: Sequence[tuple[int, int]] = DEFAULT_SPLIT_DAYS
) -> np.ndarray:
    """Split codes (0/1/2) from the day of month of each time; days outside all ranges -> -1."""
    dom = xr.DataArray(np.asarray(times, dtype="datetime64[ns]"), dims="time").dt.day.values
    out = np.full(len(dom), -1, dtype=np.int8)
    for code, (lo, hi) in enumerate(days):
        out[(dom >= lo) & (dom <= hi)] = code
    return out


def write_store(ds: xr.Dataset, path: str | Path) -> Path:
    """Validate ``ds`` against the schema and write it atomically to ``path``."""
    validate(ds)
    enc = {v: {"zlib": True, "complevel": 4} for v in ds.data_vars}
    with atomic_path(path) as tmp:  # 0644: a store is meant to be shared
        ds.to_netcdf(tmp, engine="netcdf4", encoding=enc)
    return Path(path)


def validate(ds: xr.Dataset) -> None:
    """Raise :class:`StoreError` with a one-line reason if ``ds`` does not fit the schema."""
    if ds.attrs.get("equigrid_store_version") != STORE_VERSION:
        raise StoreError("not an equigrid store (attribute equigrid_store_version)")
    if "t2m" not in ds or ds["t2m"].dims != ("time", "latitude", "longitude"):
        raise StoreError("store needs t2m(time, latitude, longitude)")
    for c in ("latitude", "longitude"):
        v = ds[c].values
        if len(v) < 2 or not np.all(np.diff(v) > 0):
            raise StoreError(f"store {c} must be strictly ascending with at least 2 points")
    if "split" not in ds or ds["split"].dims != ("time",):
        raise StoreError("store needs split(time)")
    for a in ("t2m_mean", "t2m_std"):
        if not np.isfinite(ds.attrs.get(a, np.nan)):
            raise StoreError(f"store lacks attribute {a}")
    for name in ("orog", "land_fraction"):
        if name in ds and ds[name].dims != ("latitude", "longitude"):
            raise StoreError(f"store {name} must be (latitude, longitude)")


def open_store(path: str | Path) -> xr.Dataset:
    """Open and validate a store (lazily)."""
    p = Path(path)
    if not p.is_file():
        raise StoreError(f"store not found: {p}")
    try:
        ds = xr.open_dataset(p, engine="netcdf4")
    except (OSError, ValueError) as e:
        raise StoreError(f"cannot read store {p}: {one_line(e)}") from None
    validate(ds)
    return ds


def provenance(ds: xr.Dataset) -> dict[str, Any]:
    """The store's provenance record."""
    try:
        out = json.loads(ds.attrs.get("provenance", "{}"))
    except json.JSONDecodeError:
        return {}
    return out if isinstance(out, dict) else {}
