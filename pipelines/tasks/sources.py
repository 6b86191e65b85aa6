"""The world model's training sources, read through the data layer into the one field type.

- :func:`era5_uk`: the ERA5 UK month (``t2m`` by :func:`pipelines.data.era5.read_t2m`, its
  orography and land fraction by :func:`pipelines.data.orography.read_orography`) split by
  the store's rule (:func:`pipelines.data.store.split_by_day`: days 1-21 train, 22-24
  validation, 25-31 test) and loaded by :func:`~pipelines.tasks.field.load_split`;
- :func:`era5_conus`: the one ERA5 hour over the contiguous US, each cell at the PRISM DEM
  averaged to the cell (Gaussian, sigma 1/8 deg, nearest fine cell);
- :func:`load_terrains`: the fine DEMs the simulated fields are drawn over
  (:mod:`.simulate`).

Fields here are physical (:data:`PHYSICAL`: values in K, elevations in m; the world model
sees anomalies of the task). The real station files are never read here.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import xarray as xr
from scipy.ndimage import gaussian_filter

from inference.errors import DataError
from inference.normalisation import Stats

from ..data.era5 import read_t2m
from ..data.orography import read_orography
from ..data.store import split_by_day
from .field import Field, load_split
from .simulate import Terrain, read_terrain

PHYSICAL = Stats(0.0, 1.0)  # the identity: fields in K and m
ERA5_UK = "era5_t2m_uk_2019-03_hourly.nc"
UK_OROGRAPHY = "orog_uk_era5grid_0p25.nc"
ERA5_CONUS = "era5_conus_1995-07-14T12.nc"
TERRAIN_FILES = {
    "alps": "orog_alps_0p1.nc",
    "europe": "orog_europe_0p1.nc",
    "uk": "orog_uk_0p1.nc",
    "colorado": "dem_colorado_1arcmin.nc",
    "conus": "dem_conus_prism_2p5arcmin.nc",
}


def physical(ds: xr.Dataset, split: str | None) -> Field:
    """Split ``split`` of a store-shaped dataset as a :class:`Field` in K and m."""
    f = load_split(ds, split, stats=PHYSICAL)
    return replace(f, stats={"t2m": PHYSICAL, "elevation": PHYSICAL})


def era5_uk(data_dir: Path, split: str) -> Field:
    """The ERA5 UK month's ``split`` (train: days 1-21, val: 22-24, test: 25-31)."""
    t2m = read_t2m(data_dir / ERA5_UK)
    codes = xr.DataArray(split_by_day(list(t2m["time"].values)), dims="time")
    static = read_orography(data_dir / UK_OROGRAPHY, t2m)
    return physical(xr.Dataset({"t2m": t2m, "split": codes}).merge(static), split)


def era5_conus(data_dir: Path, dem: Terrain) -> Field:
    """The ERA5 CONUS hour, cells at the DEM ``dem`` (PRISM) averaged to the cell."""
    t2m = read_t2m(data_dir / ERA5_CONUS)
    lat, lon = t2m["latitude"].values, t2m["longitude"].values
    step = float(dem.lat[1] - dem.lat[0])
    smooth = gaussian_filter(dem.h, 0.125 / step, mode="nearest")
    land = gaussian_filter(dem.land, 0.125 / step, mode="nearest")
    ii = np.clip(np.round((lat - dem.lat[0]) / step).astype(int), 0, len(dem.lat) - 1)
    jj = np.clip(np.round((lon - dem.lon[0]) / step).astype(int), 0, len(dem.lon) - 1)
    f = physical(xr.Dataset({"t2m": t2m}), None)
    as_tensor = torch.as_tensor  # float32, as the store's static fields
    return replace(
        f,
        orog=as_tensor(smooth[np.ix_(ii, jj)], dtype=torch.float32),
        land=as_tensor(land[np.ix_(ii, jj)], dtype=torch.float32),
    )


def check_terrains(names: list[str]) -> list[str]:
    """``names`` if each is a key of :data:`TERRAIN_FILES`, else a :class:`DataError`."""
    unknown = sorted(set(names) - set(TERRAIN_FILES))
    if unknown:
        raise DataError(f"unknown terrain {unknown[0]!r}; known: {', '.join(TERRAIN_FILES)}")
    return names


def load_terrains(data_dir: Path, names: list[str]) -> list[Terrain]:
    """The fine DEMs named (keys of :data:`TERRAIN_FILES`)."""
    out = []
    for n in check_terrains(names):
        path = data_dir / TERRAIN_FILES[n]
        if not path.is_file():
            raise DataError(f"{path}: file not found")
        out.append(read_terrain(path, n))
    return out
