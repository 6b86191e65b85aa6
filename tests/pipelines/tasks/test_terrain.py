"""Terrain for simulated fields is read by the one DEM reader (``inference.dem``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from inference.dem import STANDARD_GRAVITY
from pipelines.tasks.simulate import read_terrain


def test_terrain_takes_any_dem_the_reader_takes(tmp_path: Path) -> None:
    """Geopotential named ``z`` on ``lat``/``lon``, latitude descending, sea as NaN: heights
    in m on ascending axes, the sea at 0 m and not land (the reader it had took only
    ``orog``/``elevation`` in m, as stored)."""
    lat, lon = np.arange(52.0, 49.9, -0.5), np.arange(-2.0, 0.01, 0.5)
    h = 100.0 * (lat[:, None] - 49.0) + 0.0 * lon[None, :]
    h[:, 0] = np.nan  # the sea
    xr.Dataset(
        {"z": (("lat", "lon"), h * STANDARD_GRAVITY, {"units": "m2 s-2"})},
        coords={"lat": lat, "lon": lon},
    ).to_netcdf(tmp_path / "z.nc")
    t = read_terrain(tmp_path / "z.nc", "test")
    assert (np.diff(t.lat) > 0).all() and t.lat[0] == 50.0
    np.testing.assert_allclose(t.h[:, 1], 100.0 * (t.lat - 49.0))
    assert (t.h[:, 0] == 0).all() and (t.land[:, 0] == 0).all() and (t.land[:, 1:] == 1).all()
