"""Cell elevations from the service's DEMs (``EQUIGRID_DEM``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cli.app import app as cli_app
from inference.bundle import DEFAULT_BUNDLE
from inference.errors import DemError
from service.app import create_app
from service.settings import Settings

from .conftest import make_client
from .test_api import BODY, STATIONS


def write_dem(
    path: Path, lat0: float, lat1: float, lon0: float, lon1: float, sea_west_of: float = -99
) -> Path:
    lat, lon = np.arange(lat0, lat1 + 1e-9, 0.1), np.arange(lon0, lon1 + 1e-9, 0.1)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    orog = np.where(lo < sea_west_of, np.nan, 400 + 300 * np.sin(la) * np.cos(lo))
    ds = xr.Dataset(
        {"orog": (("latitude", "longitude"), orog.astype(np.float32), {"units": "m"})},
        coords={
            "latitude": ("latitude", lat, {"units": "degrees_north"}),
            "longitude": ("longitude", lon, {"units": "degrees_east"}),
        },
    )
    ds.to_netcdf(path)
    return path


@pytest.fixture(scope="module")
def dem_client(app_settings: Settings, tmp_path_factory: pytest.TempPathFactory):
    d = tmp_path_factory.mktemp("dems")
    # covers part of the test grid; no values west of 4.5 W (a land-only DEM's sea)
    write_dem(d / "south.nc", 51.0, 53.6, -5.0, 1.0, sea_west_of=-4.5)
    write_dem(d / "far.nc", 40.0, 42.0, 10.0, 12.0)
    yield from make_client(app_settings.model_copy(update={"dem": d}))


def test_dem_gives_cell_elevations(client: TestClient, dem_client: TestClient) -> None:
    plain = client.post("/v1/grid", json=BODY).json()
    r = dem_client.post("/v1/grid", json=BODY)
    assert r.status_code == 200, r.text
    g = r.json()
    assert any("cell elevations from the DEM (south.nc) for" in n for n in g["notes"])
    assert not np.allclose(g["mean"], plain["mean"], atol=1e-3)
    # the DEM's sea (no values) leaves those cells to the model, the request still succeeds
    sea = BODY | {"grid": {"bbox": [-5, 51.5, -3, 53], "resolution_deg": 0.5}}
    r = dem_client.post("/v1/grid", json=sea)
    assert r.status_code == 200, r.text
    assert any("for 12 of 20 targets" in n for n in r.json()["notes"]), r.json()["notes"]
    # elevations in the request win over the DEM
    given = np.full(np.shape(g["mean"]), 100.0).tolist()
    a = dem_client.post("/v1/grid", json=BODY | {"elevation_m": given}).json()
    b = client.post("/v1/grid", json=BODY | {"elevation_m": given}).json()
    np.testing.assert_allclose(a["mean"], b["mean"], atol=1e-4)
    assert not any("DEM" in n for n in a["notes"]), a["notes"]  # every elevation was given
    # some given, the rest from the DEM: the note counts both (not the given ones as missing)
    some: list[list[float | None]] = [[None] * 5 for _ in range(4)]  # sea's 4 x 5 cells
    some[3][3] = some[3][4] = 100.0  # two cells the DEM covers
    notes = dem_client.post("/v1/grid", json=sea | {"elevation_m": some}).json()["notes"]
    said = next(n for n in notes if "from the DEM" in n)
    assert "2 given in the request" in said and "for 10 of 20 targets" in said, said


def test_no_dem_covering_says_so(dem_client: TestClient) -> None:
    body = BODY | {"grid": {"bbox": [-9.5, 56.0, -8.0, 57.5], "resolution_deg": 0.5}}
    notes = dem_client.post("/v1/grid", json=body).json()["notes"]
    assert any("cell elevations from the DEM were not used" in n for n in notes), notes
    pts = {"stations": STATIONS, "targets": [{"lat": 52.0, "lon": -1.0}]}
    assert any(
        "from the DEM (south.nc)" in n
        for n in dem_client.post("/v1/points", json=pts).json()["notes"]
    )


def test_bad_dem_stops_start_up(app_settings: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "bad.nc"
    bad.write_text("not netCDF")
    with (
        pytest.raises(DemError),
        TestClient(create_app(app_settings.model_copy(update={"dem": bad}))),
    ):
        pass
    r = CliRunner().invoke(
        cli_app, ["serve", "--model", str(app_settings.model), "--dem", str(tmp_path / "none.nc")]
    )
    assert r.exit_code == 2 and r.output.strip().count("\n") == 0, r.output


def test_a_directory_of_dems_holds_netcdf_and_geotiff(tmp_path: Path) -> None:
    from inference.dems import Dems
    from tests.inference.test_dem import _write_geotiff

    write_dem(tmp_path / "coarse.nc", 40.0, 48.0, 5.0, 15.0)
    _write_geotiff(tmp_path / "alps.tif", np.full((8, 10), 1500.0), west=10.0, north=47.0,
                   step=0.05)  # fmt: skip
    (tmp_path / "README.txt").write_text("not a DEM, not read")
    dems = Dems.load(tmp_path)
    assert [d.name for d in dems.dems] == ["alps.tif", "coarse.nc"]  # finest first
    empty = tmp_path / "empty"  # a container's mount point before DEMs are added: no DEM
    empty.mkdir()
    assert Dems.load(empty).dems == []
    with pytest.raises(DemError, match="not found"):
        Dems.load(tmp_path / "missing.tif")


def test_empty_path_settings_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """``EQUIGRID_MODEL=`` / ``EQUIGRID_DEM=`` (as a compose file passes an unset variable)
    are unset, not the current directory."""
    monkeypatch.setenv("EQUIGRID_MODEL", "")
    monkeypatch.setenv("EQUIGRID_DEM", " ")
    s = Settings()
    assert s.model is None and s.dem is None


def test_dem_note_only_where_elevation_was_used(tmp_path: Path) -> None:
    """The shipped model with a DEM: stations without elevations mean elevation is not used,
    so the response says that and not that the DEM gave the cells' elevations."""
    write_dem(tmp_path / "uk.nc", 50.0, 56.0, -6.0, 2.0)
    bare = [{k: v for k, v in s.items() if k != "elevation_m"} for s in STATIONS]
    for c in make_client(Settings(model=DEFAULT_BUNDLE, device="cpu", dem=tmp_path)):
        notes = c.post("/v1/grid", json=BODY | {"stations": bare}).json()["notes"]
        assert any("no station has an elevation" in n for n in notes), notes
        assert not any("from the DEM" in n for n in notes), notes
        given = [s | {"elevation_m": 50.0} for s in bare]
        notes = c.post("/v1/grid", json=BODY | {"stations": given}).json()["notes"]
        assert any("cell elevations from the DEM (uk.nc)" in n for n in notes), notes
