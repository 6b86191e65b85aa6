"""Batch gridding end to end: real station files -> CF netCDF / Zarr on a dask cluster."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import xarray as xr

from inference.bundle import load_bundle
from inference.reach import reach_deg
from pipelines.batch.demo import demo_stations
from pipelines.batch.output import read_output
from pipelines.batch.plan import BBOX_MARGIN_DEG
from pipelines.batch.views import MapVariable, map_view
from tests.conftest import cf_compliance

from .conftest import grid, sao_hours

US = "-110,30,-90,45"  # W,S,E,N: the Great Plains and the Rockies' east side, 1 deg cells
FIELDS = ("tas", "tas_variance", "n_stations", "in_domain", "obs_tas", "obs_lat", "obs_step")


def assert_same(a: xr.Dataset, b: xr.Dataset) -> None:
    """Bit for bit: every field, coordinate and observation (NaN equal to NaN)."""
    for v in (*FIELDS, "lat", "lon"):
        np.testing.assert_array_equal(a[v].values, b[v].values, err_msg=v)
    if "time" in a:
        np.testing.assert_array_equal(a.time.values, b.time.values)


def test_north_america_hours_to_cf_netcdf(tmp_path, shared_data, small_bundle, scheduler) -> None:
    csv = sao_hours(shared_data, tmp_path / "sao.csv", 3)
    out = tmp_path / "grid.nc"
    res = grid(csv, "--out", out, "--bbox", US, "--resolution", 1, model=small_bundle,
               scheduler=scheduler)  # fmt: skip
    assert res.exit_code == 0, res.output
    ds = xr.open_dataset(out)
    assert dict(ds.sizes) | {"obs": 0} == {"time": 3, "lat": 16, "lon": 21, "obs": 0}
    assert ds.tas.dims == ("time", "lat", "lon") and ds.tas.dtype == np.float32
    assert ds.Conventions == "CF-1.10" and ds.tas.standard_name == "air_temperature"
    assert ds.tas.units == "degC" and ds.tas_variance.units == "degC2"
    assert ds.tas.ancillary_variables == "tas_variance"
    assert ds.n_stations.units == "1" and ds.lat.units == "degrees_north"
    assert pd.Timestamp(ds.time.values[2]) == pd.Timestamp("1995-03-18T02:00")
    assert ds.time.encoding["units"].startswith("seconds since 1970-01-01")
    assert (ds.n_stations.values > 100).all() and np.isfinite(ds.tas.values).all()
    assert float(ds.tas_variance.min()) > 0 and -30 < float(ds.tas.mean()) < 40
    bundle = load_bundle(small_bundle)
    assert ds.model_sha256 == bundle.sha256 and ds.model_name == bundle.name
    assert ds.model_version == bundle.version and ds.equigrid_version
    assert ds.command.startswith(f"equigrid grid {csv} --out {out}") and "--bbox" in ds.command
    assert ds.rows_read == 3 * 1000 + ds.rows_read % 1000 and ds.bad_rows == 0
    assert ds.rows_skipped == ds.skipped_far_from_grid > 0  # beyond the model's reach of the grid
    assert int(ds.n_stations.sum()) == ds.sizes["obs"] == ds.rows_read - ds.rows_skipped
    assert "not used" in ds.cell_elevations and not bool(ds.in_domain.any())
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert "outside the model's trained domain" in res.stderr
    assert not (tmp_path / "grid.nc.partial").exists()
    # the service's notes, per step and overall, and on the map
    outside = "the targets lie outside every trained domain"
    assert outside in ds.model_notes and all(outside in n for n in ds.step_notes.values)
    assert outside in " ".join(map_view(ds, "1995-03-18T02:00", MapVariable.tas).notes)


def test_two_workers_equal_the_default_run(tmp_path, shared_data, small_bundle, scheduler) -> None:
    """The default local cluster (one worker process per core) and a cluster of two workers
    given by --scheduler produce the same bits; the model is loaded once per worker."""
    csv = sao_hours(shared_data, tmp_path / "sao.csv", 4)
    args = [csv, "--bbox", US, "--resolution", 1, "--chunk-steps", 1, "--batch-steps", 2]
    default = grid(*args, "--out", tmp_path / "a.nc", model=small_bundle)
    assert default.exit_code == 0, default.output
    two = grid(*args, "--out", tmp_path / "b.nc", model=small_bundle, scheduler=scheduler)
    assert two.exit_code == 0, two.output
    assert "4 chunks computed on 2 workers" in two.stdout
    assert "the model loaded 1x per worker" in two.stdout
    assert_same(xr.open_dataset(tmp_path / "a.nc"), xr.open_dataset(tmp_path / "b.nc"))


def test_zarr_output_holds_the_same_as_netcdf(tmp_path, shared_data, small_bundle, scheduler):
    csv = sao_hours(shared_data, tmp_path / "sao.csv", 3)
    args = [csv, "--bbox", US, "--resolution", 1, "--chunk-steps", 2]
    for out in ("g.nc", "g.zarr"):
        res = grid(*args, "--out", tmp_path / out, model=small_bundle, scheduler=scheduler)
        assert res.exit_code == 0, res.output
    z = read_output(tmp_path / "g.zarr")
    assert z.tas.encoding["chunks"][0] == 2  # chunked by time: one task, one region
    assert f"--scheduler {scheduler} --chunk-steps 2" in z.attrs["command"]
    assert_same(xr.open_dataset(tmp_path / "g.nc"), z)
    assert stat.S_IMODE((tmp_path / "g.zarr" / "tas" / ".zarray").stat().st_mode) == 0o644


def test_steps_without_stations_are_missing_in_a_cf_file(tmp_path, small_bundle, scheduler) -> None:
    rows = [
        {"time": t, "lat": la, "lon": lo, "value": v}
        for t in ("2019-03-27T00:00", "2019-03-27T03:00")
        for la, lo, v in ((51.5, -0.1, 9.0), (53.4, -2.2, 8.0), (55.9, -3.2, 6.0))
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "obs.csv", index=False)
    res = grid(tmp_path / "obs.csv", "--out", tmp_path / "g.nc", "--value-units", "degC",
               "--bbox", "-5,50,1,56", "--resolution", 0.5, "--start", "2019-03-26T23:00",
               "--end", "2019-03-27T04:00", "--freq", "1h", model=small_bundle,
               scheduler=scheduler)  # fmt: skip
    assert res.exit_code == 0, res.output
    ds = xr.open_dataset(tmp_path / "g.nc")
    assert list(ds.n_stations.values) == [0, 3, 0, 0, 3, 0]
    missing = np.isnan(ds.tas.values).all(axis=(1, 2))
    assert list(missing) == [True, False, True, True, False, True]
    assert "4 of 6 time steps have no stations" in res.stderr and "4 of 6" in ds.warnings
    cf_compliance(tmp_path / "g.nc")  # one encoding with the service's netCDF (CF-1.10)


def test_no_bbox_grids_the_stations_box_plus_a_margin(tmp_path, shared_data, small_bundle,
                                                      scheduler) -> None:  # fmt: skip
    src = pd.read_csv(shared_data / "stations_suedtirol_2021-01-01_hourly.csv")
    src[src.time_utc == src.time_utc.min()].to_csv(tmp_path / "st.csv", index=False)
    res = grid(tmp_path / "st.csv", "--out", tmp_path / "g.nc", "--resolution", 0.1,
               model=small_bundle, scheduler=scheduler)  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "from the stations' bounding box plus a margin (no --bbox)" in res.stderr
    ds = xr.open_dataset(tmp_path / "g.nc")
    first = src[src.time_utc == src.time_utc.min()]
    m = BBOX_MARGIN_DEG
    assert first.latitude.min() - m - 0.1 < ds.lat.min() <= first.latitude.min() - m
    assert first.longitude.max() + m <= ds.lon.max() < first.longitude.max() + m + 0.1
    assert ds.grid_source.endswith("(no --bbox)") and "warnings" not in ds.attrs


def test_a_grid_no_station_is_near_is_a_warning(tmp_path, shared_data, small_bundle, scheduler):
    csv = sao_hours(shared_data, tmp_path / "sao.csv", 1)
    res = grid(csv, "--out", tmp_path / "g.nc", "--bbox", "100,0,104,4", "--resolution", 1,
               model=small_bundle, scheduler=scheduler)  # fmt: skip
    assert res.exit_code == 0, res.output
    reach = reach_deg(load_bundle(small_bundle))
    assert reach is not None
    assert (
        f"warning: no station lies within {reach:.1f} deg (the model's reach) of the grid "
        "100,0,104,4" in res.stderr
    )
    ds = xr.open_dataset(tmp_path / "g.nc")
    assert "no station lies within" in ds.warnings and int(ds.n_stations.sum()) == 0
    assert np.isnan(ds.tas.values).all()


def test_parquet_input_grids_as_the_csv(tmp_path, shared_data, small_bundle, scheduler) -> None:
    csv = sao_hours(shared_data, tmp_path / "sao.csv", 2)
    pd.read_csv(csv).to_parquet(tmp_path / "sao.parquet")
    for src, out in ((csv, "a.nc"), (tmp_path / "sao.parquet", "b.nc")):
        res = grid(src, "--out", tmp_path / out, "--bbox", US, "--resolution", 1,
                   model=small_bundle, scheduler=scheduler)  # fmt: skip
        assert res.exit_code == 0, res.output
    assert_same(xr.open_dataset(tmp_path / "a.nc"), xr.open_dataset(tmp_path / "b.nc"))


def test_demo_runs_without_any_data(tmp_path, small_bundle, scheduler) -> None:
    out = tmp_path / "demo.nc"
    res = grid("--demo", "--out", out, "--resolution", 0.5, model=small_bundle,
               scheduler=scheduler)  # fmt: skip
    assert res.exit_code == 0, res.output
    assert xr.open_dataset(out).sizes["time"] == 3
    table = demo_stations(load_bundle(small_bundle))
    assert len(table) == 450 and ((table.value_k > 250) & (table.value_k < 300)).all()


def test_progress_is_a_line_per_chunk_in_logs(tmp_path, small_bundle, scheduler) -> None:
    res = grid("--demo", "--out", tmp_path / "d.nc", "--resolution", 1, "--chunk-steps", 1,
               model=small_bundle, scheduler=scheduler)  # fmt: skip
    lines = [x for x in res.stderr.splitlines() if " steps/s, ETA " in x]
    assert [x.split(" done")[0] for x in lines] == [
        f"equigrid grid: chunk {i}/3" for i in (1, 2, 3)
    ]
    quiet = grid("--demo", "--out", tmp_path / "q.nc", "--resolution", 1, "--quiet",
                 model=small_bundle, scheduler=scheduler)  # fmt: skip
    assert "steps/s" not in quiet.stderr


def test_progress_bar_on_a_terminal() -> None:
    import io

    from pipelines.batch.progress import Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    term = Terminal()
    p = Progress(total=10, done=4, chunks=3, stream=term)
    assert "(starting)" in term.getvalue() and "step/s" not in term.getvalue()
    p.update(3)
    p.update(2)
    p.close()
    assert "9/10" in term.getvalue() and "step/s" in term.getvalue()


def test_no_eta_before_the_first_chunk_is_done() -> None:
    """The first chunk's time holds the cluster's start and the model's loads: no ETA from
    it (it gave wild first estimates); the rate counts from the first chunk's end."""
    import io

    from pipelines.batch.progress import Progress

    p = Progress(total=30, chunks=3, stream=io.StringIO())
    p.update(10)
    assert p.line().endswith("10/30 steps, ? steps/s, ETA ?")
    p.update(10)
    assert p.steady_rate() is not None and " steps/s, ETA 00:00:" in p.line()


def test_readme_main_job_writes_outside_the_tracked_tree() -> None:
    """The set-up command's output goes to runs/ (ignored by git), not the repository root."""
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text()
    command = next(x for x in readme.splitlines() if "equigrid grid --demo" in x)
    out = Path(command.split("--out")[1].split()[0])
    assert len(out.parts) > 1 and f"/{out.parts[0]}/" in (REPO / ".gitignore").read_text()


def test_value_units_come_from_the_data_and_units_set_the_output(tmp_path, small_bundle,
                                                                 scheduler) -> None:  # fmt: skip
    """The values' units: the column's name, else --value-units (never overriding the file);
    --units: the output's units (default: the values'). The same field either way."""
    rows = [(51.5, -0.1, 9.0), (53.4, -2.2, 8.0), (55.9, -3.2, 6.0)]
    frame = pd.DataFrame([{"time": "2019-03-27T06:00", "lat": la, "lon": lo, "value": v}
                          for la, lo, v in rows])  # fmt: skip
    frame.to_csv(tmp_path / "plain.csv", index=False)
    frame.assign(value=frame.value + 273.15).rename(columns={"value": "temperature_k"}).to_csv(
        tmp_path / "kelvin.csv", index=False
    )
    box = ["--bbox", "-5,50,1,56", "--resolution", 1]
    runs = {
        "a.nc": [tmp_path / "plain.csv", "--value-units", "degC"],  # output in degC
        "b.nc": [tmp_path / "plain.csv", "--value-units", "degC", "--units", "K"],
        "c.nc": [tmp_path / "kelvin.csv"],  # the column's name says K: output in K
        "d.nc": [tmp_path / "kelvin.csv", "--units", "degC"],
    }
    out = {}
    for name, args in runs.items():
        res = grid(*args, *box, "--out", tmp_path / name, model=small_bundle, scheduler=scheduler)
        assert res.exit_code == 0, res.output
        out[name] = xr.open_dataset(tmp_path / name)
    assert [out[n].tas.units for n in runs] == ["degC", "K", "K", "degC"]
    assert [out[n].stations_units for n in runs] == ["degC", "degC", "K", "K"]
    np.testing.assert_allclose(out["a.nc"].tas + 273.15, out["b.nc"].tas, atol=1e-3)
    np.testing.assert_allclose(out["b.nc"].tas, out["c.nc"].tas, atol=1e-3)
    np.testing.assert_allclose(out["a.nc"].tas, out["d.nc"].tas, atol=1e-3)
    clash = grid(tmp_path / "kelvin.csv", "--value-units", "degC", *box, "--out",
                 tmp_path / "e.nc", model=small_bundle)  # fmt: skip
    assert clash.exit_code == 2 and "gives its values in K, --value-units says degC" in clash.stderr


def test_default_out_in_the_working_directory_and_device_auto(
    tmp_path, small_bundle, scheduler, monkeypatch
):
    (tmp_path / "data").mkdir()
    csv = tmp_path / "data" / "obs.csv"
    monkeypatch.chdir(tmp_path)  # the output goes here, not into the input's folder
    pd.DataFrame([{"time": "2019-03-27T06:00", "lat": 52.0, "lon": -1.0, "value": 8.0}]).to_csv(
        csv, index=False
    )
    args = [csv, "--value-units", "degC", "--bbox", "-3,51,1,53", "--resolution", 1]
    res = grid(*args, "--device", "auto", model=small_bundle, scheduler=scheduler)
    out = Path("obs.grid.nc")
    assert res.exit_code == 0 and res.stdout.strip().endswith(f"wrote {out}"), res.output
    assert not list((tmp_path / "data").glob("obs.grid*"))
    assert xr.open_dataset(out).devices_used == ("cuda" if torch.cuda.is_available() else "cpu")
    again = grid(*args, model=small_bundle, scheduler=scheduler)
    assert again.stdout.strip().endswith(f"wrote {out} (replaced the output that was there)")


def _tile(path: Path, lat0: float, lat1: float, lon0: float, lon1: float) -> Path:
    lat, lon = np.arange(lat0, lat1 + 1e-9, 0.25), np.arange(lon0, lon1 + 1e-9, 0.25)
    h = 100.0 + 50.0 * lat[:, None] + 0.0 * lon[None, :]
    xr.Dataset(
        {"orog": (("lat", "lon"), h.astype(np.float32), {"units": "m"})},
        coords={"lat": lat, "lon": lon},
    ).to_netcdf(path)
    return path


def test_dem_folder_of_tiles_with_partial_cover(tmp_path, small_bundle, scheduler) -> None:
    """--dem takes a folder of tiles (the service's reader, inference.dems); cells outside
    every tile get no elevation, and the output says how many had one."""
    tiles = tmp_path / "dem"
    tiles.mkdir()
    _tile(tiles / "west.nc", 50.0, 53.0, -5.0, -2.0)
    _tile(tiles / "east.nc", 50.0, 53.0, -2.0, 0.0)  # nothing north of 53 N
    rows = [{"time": "2019-03-27T06:00", "lat": la, "lon": lo, "value": v}
            for la, lo, v in ((51.5, -0.1, 9.0), (53.4, -2.2, 8.0), (55.9, -3.2, 6.0))]  # fmt: skip
    pd.DataFrame(rows).to_csv(tmp_path / "obs.csv", index=False)
    args = [
        tmp_path / "obs.csv",
        "--value-units",
        "degC",
        "--bbox",
        "-5,50,0,56",
        "--resolution",
        1,
    ]
    res = grid(*args, "--out", tmp_path / "g.nc", "--dem", tiles, model=small_bundle,
               scheduler=scheduler)  # fmt: skip
    assert res.exit_code == 0, res.output
    ds = xr.open_dataset(tmp_path / "g.nc")
    covered = int((ds.lat <= 53).sum()) * ds.sizes["lon"]  # 4 of 7 rows of cells
    said = f"for {covered} of {ds.sizes['lat'] * ds.sizes['lon']} targets"
    assert (
        ds.cell_elevations.startswith("cell elevations from the DEM (")
        and said in ds.cell_elevations
    )
    assert said in res.stderr
    plain = grid(*args, "--out", tmp_path / "p.nc", model=small_bundle, scheduler=scheduler)
    assert plain.exit_code == 0, plain.output
    assert not np.allclose(xr.open_dataset(tmp_path / "p.nc").tas.values, ds.tas.values)
    none = tmp_path / "far"
    none.mkdir()
    _tile(none / "alps.nc", 45.0, 47.0, 9.0, 11.0)
    res = grid(*args, "--out", tmp_path / "f.nc", "--dem", none, model=small_bundle,
               scheduler=scheduler)  # fmt: skip
    assert res.exit_code == 0 and "no DEM covers the targets" in res.stderr, res.output
