"""Orography (and land fraction, when the file has it) regridded to the temperature grid.

Accepted: ERA5 surface geopotential ``z`` (m2 s-2, divided by standard gravity) or any DEM
netCDF with a height variable in m (``orog``, ``elevation``, ``HSURF``, ...); a land
fraction/mask in the same file (``land_fraction``, ``lsm``, ``FR_LAND``, ...; fraction or %)
comes along. Fields are interpolated bilinearly (``xarray.interp``) onto the temperature
grid, which the file must cover.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from pipelines.era5 import only_dims, open_source
from pipelines.errors import IngestError
from pipelines.grid import SPATIAL, bounds, covers, same_points, standardise
from pipelines.lexicon import (
    STANDARD_GRAVITY,
    canonical_units,
    find_variable,
    names_tried,
    rename_coords,
)

ATTRS = {
    "orog": {"units": "m", "standard_name": "surface_altitude", "long_name": "orography"},
    "land_fraction": {"units": "1", "standard_name": "land_area_fraction"},
}
# (our name, lexicon entry, {canonical units: factor to ours})
CANDIDATES = (
    ("orog", "orog", {"m": 1.0}),
    # a DEM that calls its height `z` (in m) is read as height, not geopotential
    ("orog", "geopotential", {"m2 s-2": 1.0 / STANDARD_GRAVITY, "m": 1.0}),
    ("land_fraction", "land_fraction", {"1": 1.0, "%": 0.01}),
)


def read_orography(path: str | Path, grid: xr.DataArray | xr.Dataset) -> xr.Dataset:
    """``orog`` (m) and, if present, ``land_fraction`` (1) on the latitude/longitude of ``grid``."""
    path = Path(path)
    source = str(path)
    ds = rename_coords(open_source(path))
    fields: dict[str, xr.DataArray] = {}
    for ours, entry, factors in CANDIDATES:
        name = find_variable(ds, entry)
        if name is None or ours in fields:
            continue
        units = ds[name].attrs.get("units")
        factor = factors.get(canonical_units(units) or "")
        if factor is None:
            raise IngestError(f"{source}: unknown units {units!r} for {name}")
        da = standardise(only_dims(ds[name], SPATIAL, source), source).load() * factor
        fields[ours] = regrid(da, grid, f"{source}: {name}").rename(ours)
        fields[ours].attrs = dict(ATTRS[ours])
    if "orog" not in fields:
        raise IngestError(
            f"{source}: no orography variable ({names_tried('orog')}/{names_tried('geopotential')})"
        )
    return xr.Dataset(fields)


def regrid(da: xr.DataArray, grid: xr.DataArray | xr.Dataset, what: str) -> xr.DataArray:
    """Bilinear interpolation of ``da`` onto the latitude/longitude of ``grid``."""
    if not covers(da, grid, tol=1e-4):
        raise IngestError(f"{what} covers {bounds(da)}, not the temperature grid {bounds(grid)}")
    if all(same_points(da[c].values, grid[c].values) for c in SPATIAL):
        out = da  # already on the grid: copy values, no interpolation round-off
    else:
        # clip to the source extent so points within float tolerance of the edge are not NaN
        lo_hi = {c: (da[c].values.min(), da[c].values.max()) for c in SPATIAL}
        out = da.interp({c: np.clip(grid[c].values, *lo_hi[c]) for c in SPATIAL}, method="linear")
    out = out.assign_coords({c: grid[c].values for c in SPATIAL})
    n_missing = int(out.isnull().sum())
    if n_missing:
        raise IngestError(f"{what} has {n_missing} missing values on the temperature grid")
    return out.astype(np.float32)
