"""``equigrid plot``: the step, the variable, the stations and a station's series are taken
from the output alone; the drawing is the shared renderer's (``inference.maps``, ``.series``)."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from cli import app
from inference.errors import EquigridError
from pipelines.batch.views import MapVariable, map_view, station_series

from .conftest import grid

runner = CliRunner()
TIMES = ("2019-03-27T00:00", "2019-03-27T01:00", "2019-03-27T03:00")
STATIONS = (("LHR", 51.48, -0.45, 9.0), ("MAN", 53.35, -2.27, 7.0), ("EDI", 55.95, -3.37, 5.0))


@pytest.fixture(scope="module")
def output(tmp_path_factory, small_bundle, scheduler):
    d = tmp_path_factory.mktemp("plot")
    rows = [
        {"time": t, "station_id": sid, "lat": la, "lon": lo, "value": v + k}
        for k, t in enumerate(TIMES)
        for sid, la, lo, v in STATIONS
        if not (sid == "EDI" and k == 1)  # EDI misses 01:00
    ]
    pd.DataFrame(rows).to_csv(d / "obs.csv", index=False)
    res = grid(d / "obs.csv", "--out", d / "g.nc", "--value-units", "degC", "--bbox", "-5,50,1,57",
               "--resolution", 0.5, "--freq", "1h", model=small_bundle,
               scheduler=scheduler)  # fmt: skip
    assert res.exit_code == 0, res.output
    return d / "g.nc"


def test_map_view_picks_the_step_variable_and_stations(output) -> None:
    ds = xr.open_dataset(output)
    v = map_view(ds, "2019-03-27T01:00", MapVariable.tas_std)
    np.testing.assert_allclose(v.values, np.sqrt(ds.tas_variance.values[1]), rtol=1e-6)
    assert v.units == "degC" and v.time == pd.Timestamp("2019-03-27T01:00")
    assert sorted(v.station_value) == [8.0, 10.0] and len(v.station_lat) == 2
    assert any(n.startswith("cell elevations: not used: no --dem") for n in v.notes), v.notes
    np.testing.assert_array_equal(map_view(ds, "2019-03-27T01:00Z", MapVariable.tas).values, v.mean)
    with pytest.raises(EquigridError, match="no stations"):
        map_view(ds, "2019-03-27T02:00", MapVariable.tas)  # on the 1 h axis, but empty
    with pytest.raises(EquigridError, match=r"not a step of the output \(2019-03-27T00:00 to"):
        map_view(ds, "2019-03-28T00:00", MapVariable.tas)
    with pytest.raises(EquigridError, match="give --time"):
        map_view(ds, None, MapVariable.tas)


def test_station_series_against_the_grid_at_its_position(output) -> None:
    ds = xr.open_dataset(output)
    s = station_series(ds, "EDI")
    np.testing.assert_array_equal(s.observed, [5.0, np.nan, np.nan, 7.0])
    at = ds.tas.interp(lat=55.95, lon=-3.37).values
    np.testing.assert_allclose(s.gridded, at)
    assert np.isnan(s.gridded[2]) and (s.gridded_std[[0, 1, 3]] > 0).all()
    with pytest.raises(EquigridError, match="no station 'XYZ'"):
        station_series(ds, "XYZ")


def test_plot_writes_pngs(output, tmp_path) -> None:
    res = runner.invoke(app, ["plot", str(output), "--time", "2019-03-27T03:00", "--out",
                              str(tmp_path / "m.png")])  # fmt: skip
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["plot", str(output), "--station", "MAN", "--out",
                              str(tmp_path / "s.png")])  # fmt: skip
    assert res.exit_code == 0, res.output
    for name in ("m.png", "s.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644


def test_plot_errors_are_one_line(output, tmp_path) -> None:
    res = runner.invoke(app, ["plot", str(tmp_path / "none.nc"), "--time", "2019-03-27T00:00"])
    assert res.exit_code == 2 and res.stderr.startswith("equigrid plot: output not found")
    other = tmp_path / "other.nc"  # a CF file that is not a batch output
    xr.Dataset({"t2m": (("lat", "lon"), np.zeros((2, 2)))}).to_netcdf(other)
    res = runner.invoke(app, ["plot", str(other), "--time", "2019-03-27T00:00"])
    assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1, res.output
    assert "is not an equigrid grid output (no tas, tas_variance" in res.stderr
    (tmp_path / "text.nc").write_text("time,lat\n")
    res = runner.invoke(app, ["plot", str(tmp_path / "text.nc")])
    assert res.exit_code == 2 and "cannot read as netCDF or Zarr" in res.stderr, res.output
    res = runner.invoke(app, ["plot", str(output), "--station", "MAN", "--time", "2019-03-28"])
    assert res.exit_code == 2 and "not a step of the output" in res.stderr


def test_plot_default_out_in_the_working_directory_and_says_when_it_replaces(
    output, tmp_path, monkeypatch
) -> None:
    (tmp_path / "runs").mkdir()
    local = tmp_path / "runs" / "g.nc"
    local.write_bytes(output.read_bytes())
    monkeypatch.chdir(tmp_path)
    args = ["plot", str(local), "--time", "2019-03-27T03:00"]
    res = runner.invoke(app, args)
    png = Path("g.tas.20190327T0300.png")
    assert res.exit_code == 0 and res.stdout.strip() == f"wrote {png}", res.output
    res = runner.invoke(app, args)
    assert res.stdout.strip() == f"wrote {png} (replaced the file that was there)"
    res = runner.invoke(app, ["plot", str(local), "--station", "MAN", "--time", "2019-03-27T01:00"])
    assert res.exit_code == 0 and (tmp_path / "g.station-MAN.png").exists(), res.output
    assert not list((tmp_path / "runs").glob("*.png"))


def test_std_map_shows_the_observed_values_at_the_stations(output, tmp_path, monkeypatch) -> None:
    """The stations on a ``--var tas_std`` map keep their observed values (on the mean's
    panel); they were drawn as NaN, so they vanished."""
    import cli.plot

    drawn = []
    monkeypatch.setattr(cli.plot, "render_map", lambda m: drawn.append(m) or b"png")
    res = runner.invoke(app, ["plot", str(output), "--time", "2019-03-27T03:00", "--var",
                              "tas_std", "--out", str(tmp_path / "s.png")])  # fmt: skip
    assert res.exit_code == 0, res.output
    (m,) = drawn
    assert m.std is not None and sorted(m.stations.value) == [7.0, 9.0, 11.0]
