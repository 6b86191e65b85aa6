"""DEMs: height variables by name and units, bilinear resampling to grids and points."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from inference.dem import STANDARD_GRAVITY, read_dem, resample, resample_points
from inference.errors import DemError


def _dem(path: Path, name: str = "elevation", units: str = "m", scale: float = 1.0) -> Path:
    lat, lon = np.arange(49.0, 53.0), np.arange(4.0, -3.0, -1.0)  # lon descending on purpose
    h = 100.0 * lat[:, None] + 10.0 * lon[None, :]  # a plane: bilinear is exact
    da = xr.DataArray(h * scale, dims=("lat", "lon"), coords={"lat": lat, "lon": lon})
    da.attrs["units"] = units
    da.to_dataset(name=name).to_netcdf(path)
    return path


def test_read_and_resample_a_plane(tmp_path: Path) -> None:
    dem = read_dem(_dem(tmp_path / "d.nc"))
    assert dem.name == "orog" and dem.attrs["units"] == "m"
    assert bool((np.diff(dem.longitude.values) > 0).all())  # our conventions
    out = resample(dem, [49.5, 50.25], [-1.5, 0.0, 2.75], "DEM")
    expected = 100.0 * np.array([49.5, 50.25])[:, None] + 10.0 * np.array([-1.5, 0.0, 2.75])
    np.testing.assert_allclose(out.values, expected, rtol=1e-6)
    pts = resample_points(dem, [49.5, 51.0], [0.5, -2.0])
    np.testing.assert_allclose(pts, [100 * 49.5 + 5, 100 * 51.0 - 20], rtol=1e-9)


def test_geopotential_is_height_times_gravity(tmp_path: Path) -> None:
    dem = read_dem(_dem(tmp_path / "z.nc", name="z", units="m2 s-2", scale=STANDARD_GRAVITY))
    assert float(dem.sel(latitude=50.0, longitude=0.0)) == pytest.approx(5000.0)


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(DemError, match="not found"):
        read_dem(tmp_path / "absent.nc")
    with pytest.raises(DemError, match="unknown units 'ft'"):
        read_dem(_dem(tmp_path / "f.nc", units="ft"))
    dem = read_dem(_dem(tmp_path / "d.nc"))
    with pytest.raises(DemError, match="not the temperature grid"):
        resample(dem, [48.0, 50.0], [0.0], "DEM")


def test_a_shared_dem(shared_data: Path) -> None:
    dem = read_dem(shared_data / "dem_colorado_1arcmin.nc")
    lat = float(dem.latitude.mean())
    lon = float(dem.longitude.mean())
    assert 1000 < float(resample_points(dem, [lat], [lon])[0]) < 4500  # Colorado: high ground
