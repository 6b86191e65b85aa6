"""Batch gridding: station CSV -> CF netCDF, streamed and atomic, with one-line errors."""

from __future__ import annotations

import stat

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from cli import app
from inference.bundle import load_bundle
from pipelines.batch.demo import demo_stations
from tests.inference.test_bundle import make_bundle

runner = CliRunner()


@pytest.fixture
def bundle_dir(tmp_path):
    return make_bundle(tmp_path)


def grid_cli(csv, out, bundle_dir, bbox: str, resolution: str):
    args = ["grid", str(csv), "--out", str(out), "--model", str(bundle_dir)]
    return runner.invoke(app, [*args, "--bbox", bbox, "--resolution", resolution])


def write_csv(path, rows):
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_grid_station_record_to_cf_netcdf(tmp_path, bundle_dir) -> None:
    rows = []
    for h in range(3):
        for la, lo, v in [
            (51.5, -0.1, 9.0 + h),
            (53.4, -2.2, 8.0 + h),
            (55.9, -3.2, 6.0 + h),
            (55.9, -3.2, 6.05 + h),
        ]:  # last row repeats a position within 0.1 K: merged
            rows.append(
                {
                    "time_utc": f"2019-03-27T{h:02d}:00",
                    "latitude": la,
                    "longitude": lo,
                    "air_temperature_degC": v,
                    "elevation_m": 40.0,
                }
            )
    csv = write_csv(tmp_path / "obs.csv", rows)
    out = tmp_path / "grid.nc"
    res = grid_cli(csv, out, bundle_dir, "-6,50,1,57", "0.5")
    assert res.exit_code == 0, res.output
    ds = xr.open_dataset(out)
    assert ds.tas.dims == ("time", "lat", "lon") and ds.tas.shape == (3, 15, 15)
    assert ds.Conventions == "CF-1.10" and ds.tas.standard_name == "air_temperature"
    assert ds.tas.units == "degC" and ds.tas_variance.units == "degC2"
    assert ds.lat.units == "degrees_north" and ds.lon.units == "degrees_east"
    assert (ds.n_stations.values == 3).all()
    assert pd.Timestamp(ds.time.values[1]) == pd.Timestamp("2019-03-27T01:00")
    assert float(ds.tas_variance.min()) > 0 and np.isfinite(ds.tas.values).all()
    assert -30 < float(ds.tas.mean()) < 40  # degC, not K
    assert bool(ds.in_domain.all())
    assert "merged" in res.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o644  # readable by others, not mkstemp's 0600


def test_out_of_domain_record_is_flagged(tmp_path, shared_data, bundle_dir) -> None:
    src = pd.read_csv(shared_data / "stations_suedtirol_2021-01-01_hourly.csv")
    csv = tmp_path / "st.csv"
    src[src.time_utc.isin(sorted(src.time_utc.unique())[:2])].to_csv(csv, index=False)
    out = tmp_path / "alps.nc"
    res = grid_cli(csv, out, bundle_dir, "10.4,46.2,12.4,47.1", "0.1")
    assert res.exit_code == 0, res.output
    ds = xr.open_dataset(out)
    assert ds.sizes["time"] == 2 and not bool(ds.in_domain.any())


def test_demo_runs_without_any_data(tmp_path, bundle_dir) -> None:
    out = tmp_path / "demo.nc"
    res = runner.invoke(
        app,
        ["grid", "--demo", "--out", str(out), "--model", str(bundle_dir), "--resolution", "0.5"],
    )
    assert res.exit_code == 0, res.output
    assert xr.open_dataset(out).sizes["time"] == 3
    df = demo_stations(load_bundle(bundle_dir))
    assert len(df) == 450 and df.value_k.between(250, 300).all()


@pytest.mark.parametrize(
    ("rows", "args", "message"),
    [
        ([{"lat": 51, "lon": 0, "value": 280}], ["--units", "F"], "--units"),
        ([{"lat": 51, "lon": 0, "value": 280}], [], "cannot tell the units"),
        ([{"lat": 51, "lon": 0}], ["--units", "K"], "no value column"),
        ([{"lat": 95, "lon": 0, "value": 280}], ["--units", "K"], "line 2 latitude"),
        ([{"lat": 51, "lon": 0, "value": 280}], ["--units", "degC"], "plausible range [-90, 60]"),
        (
            [{"lat": 51, "lon": 0, "value": 280}, {"lat": 51, "lon": 360, "value": 281}],
            ["--units", "K"],
            "line 2 and",  # the one duplicate rule: same position, values > 0.1 K apart
        ),
        ([{"lat": 51, "lon": 0, "value": "x"}], ["--units", "K"], "finite"),
        ([{"lat": 51, "lon": 0, "value": 280}], ["--units", "K", "--bbox", "1,50,0,55"], "west"),
        ([{"lat": 51, "lon": 0, "value": 280}], ["--units", "K", "--resolution", "0"], "positive"),
        ([{"lat": 51, "lon": 0, "value": 280}], ["--units", "K", "--bbox", "a,b"], "four numbers"),
    ],
)
def test_bad_input_one_line_error_and_existing_output_untouched(
    tmp_path, bundle_dir, rows, args, message
) -> None:
    csv = write_csv(tmp_path / "obs.csv", rows)
    out = tmp_path / "grid.nc"
    out.write_bytes(b"previous result")
    res = runner.invoke(
        app, ["grid", str(csv), "--out", str(out), "--model", str(bundle_dir), *args]
    )
    assert res.exit_code == 2
    assert message in res.output and len(res.output.strip().splitlines()) == 1
    assert out.read_bytes() == b"previous result"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".grid")] == []


def test_missing_inputs(tmp_path, bundle_dir) -> None:
    res = runner.invoke(app, ["grid", str(tmp_path / "none.csv"), "--model", str(bundle_dir)])
    assert res.exit_code == 2 and "not found" in res.output
    res = runner.invoke(app, ["grid", "--demo", "--model", str(tmp_path / "nomodel")])
    assert res.exit_code == 2 and "model bundle not found" in res.output
