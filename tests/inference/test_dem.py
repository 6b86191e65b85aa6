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


def _write_geotiff(
    path: Path,
    z: np.ndarray,
    west: float,
    north: float,
    step: float,
    *,
    nodata: float | None = None,
    point: bool = False,
    model_type: int = 2,
) -> None:
    """A small geographic GeoTIFF written with tifffile (tags as GDAL writes them)."""
    import tifffile

    raster = 2 if point else 1
    # GeoKeyDirectory: version 1.1.0, 3 keys: model type, raster type, geographic CRS 4326
    keys = (1, 1, 0, 3, 1024, 0, 1, model_type, 1025, 0, 1, raster, 2048, 0, 1, 4326)
    extra = [
        (33550, "d", 3, (step, step, 0.0), False),
        (33922, "d", 6, (0.0, 0.0, 0.0, west, north, 0.0), False),
        (34735, "H", len(keys), keys, False),
    ]
    if nodata is not None:
        extra.append((42113, "s", 0, f"{nodata}", False))
    tifffile.imwrite(path, z.astype(np.float32), extratags=extra)


def test_geotiff_dem_is_read_at_pixel_centres(tmp_path: Path) -> None:
    z = np.arange(12, dtype=np.float32).reshape(3, 4) * 100.0  # rows north -> south
    z[0, 0] = -9999.0
    path = tmp_path / "dem.tif"
    _write_geotiff(path, z, west=10.0, north=47.0, step=0.5, nodata=-9999)
    da = read_dem(path)
    np.testing.assert_allclose(da.latitude.values, [45.75, 46.25, 46.75])
    np.testing.assert_allclose(da.longitude.values, [10.25, 10.75, 11.25, 11.75])
    assert np.isnan(da.values[-1, 0])  # the north-west corner, no data
    assert da.values[0, 1] == 900.0  # southern row, second column
    # bilinear between two centres of the southern row
    got = resample_points(da, [45.75], [11.0])
    np.testing.assert_allclose(got, [(900.0 + 1000.0) / 2])


def test_geotiff_pixel_is_point_and_projected_refused(tmp_path: Path) -> None:
    z = np.zeros((2, 2), np.float32)
    _write_geotiff(tmp_path / "p.tif", z, west=10.0, north=47.0, step=1.0, point=True)
    da = read_dem(tmp_path / "p.tif")
    np.testing.assert_allclose(da.latitude.values, [46.0, 47.0])
    _write_geotiff(tmp_path / "utm.tif", z, west=5e5, north=5e6, step=30.0, model_type=1)
    with pytest.raises(DemError, match="projected"):
        read_dem(tmp_path / "utm.tif")
