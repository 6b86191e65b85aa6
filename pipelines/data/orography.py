"""Orography (and land fraction, when the file has it) regridded to the temperature grid.

Accepted: ERA5 surface geopotential ``z`` (m2 s-2, divided by standard gravity) or any DEM
netCDF with a height variable in m (``orog``, ``elevation``, ``HSURF``, ...; read by
:func:`inference.dem.height_from`); a land fraction/mask in the same file
(``land_fraction``, ``lsm``, ``FR_LAND``, ...; fraction or %) comes along. Fields are
interpolated bilinearly onto the temperature grid by :func:`inference.dem.resample`, the
same resampler that puts DEMs on target grids; the file must cover the grid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from inference.coords import SPATIAL, only_dims, rename_coords, standardise
from inference.dem import height_from, resample
from inference.errors import DataError
from inference.units import canonical_units

from .era5 import open_source
from .lexicon import find_variable

LAND_ATTRS = {"units": "1", "standard_name": "land_area_fraction"}
LAND_FACTORS = {"1": 1.0, "%": 0.01}  # canonical units -> factor to a fraction


def read_orography(path: str | Path, grid: xr.DataArray | xr.Dataset) -> xr.Dataset:
    """``orog`` (m) and, if present, ``land_fraction`` (1) on the latitude/longitude of ``grid``."""
    path = Path(path)
    source = str(path)
    ds = rename_coords(open_source(path))
    lat, lon = grid["latitude"].values, grid["longitude"].values
    height = height_from(ds, source)
    fields = {"orog": _on_grid(height, lat, lon, f"{source}: {height.name}", "orog")}
    name = find_variable(ds, "land_fraction")
    if name is not None:
        units = ds[name].attrs.get("units")
        factor = LAND_FACTORS.get(canonical_units(units) or "")
        if factor is None:
            raise DataError(f"{source}: unknown units {units!r} for {name}")
        da = standardise(only_dims(ds[name], SPATIAL, source), source).load() * factor
        fields["land_fraction"] = _on_grid(da, lat, lon, f"{source}: {name}", "land_fraction")
        fields["land_fraction"].attrs = dict(LAND_ATTRS)
    return xr.Dataset(fields)


def _on_grid(
    da: xr.DataArray, lat: np.ndarray, lon: np.ndarray, what: str, ours: str
) -> xr.DataArray:
    attrs = dict(da.attrs)
    out = resample(da, lat, lon, what).rename(ours)
    out.attrs = attrs
    return out
