"""Nothing lost: bad rows are skipped, counted and listed by line; --strict refuses them; bad
options and unusable files fail with one line and leave an existing output untouched."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr

from .conftest import grid

HEADER = "time,station_id,lat,lon,elevation_m,value"
LINES = [  # line 2 onwards; the comment says what the row is
    "2019-03-27T06:00,A,51.50,-0.10,20,9.0",  # 2 good
    "",  # 3 blank: not an observation
    "2019-03-27T06:00,B,95.00,-2.20,10,8.0",  # 4 latitude_range
    "2019-03-27T06:00,C,53.40,-2.20,10,x",  # 5 non_finite
    "27/03/2019 six o'clock,D,52.00,-1.00,10,8.0",  # 6 unparseable_time
    "2019-03-27T06:00,E,52.20,-1.50,10,99",  # 7 implausible_value (degC)
    "2019-03-27T06:00,F,54.00,-3.00,50,5.0",  # 8 conflicting_duplicate
    "2019-03-27T06:00,G,54.00,-3.00,50,6.0",  # 9 conflicting_duplicate
    "2019-03-27T06:00,H,55.90,-3.20,40,6.00",  # 10 good
    "2019-03-27T06:00,I,55.90,-3.20,40,6.05",  # 11 merged into line 10
    "2019-03-27T06:00,J,52.00,400.0,10,8.0",  # 12 longitude_range
    "2019-03-27T09:00,K,52.00,-1.00,10,8.0",  # 13 outside_time_axis (--end 07:00)
    "2019-03-27T06:00,L,40.00,-30.0,10,8.0",  # 14 far_from_grid
    "2019-03-27T07:00,A,51.50,-0.10,20,9.5",  # 15 good
    "2019-03-27T06:00,M,53.00,-2.00,-9999,7.0",  # 16 implausible_elevation (a no-data code)
]
EXPECTED = {
    "line 4": "latitude_range",
    "line 5": "non_finite",
    "line 6": "unparseable_time",
    "line 7": "implausible_value",
    "line 8": "conflicting_duplicate",
    "line 9": "conflicting_duplicate",
    "line 12": "longitude_range",
    "line 13": "outside_time_axis",
    "line 14": "far_from_grid",
    "line 16": "implausible_elevation",
}
VK = ("--value-units", "K")  # the values of the one-row files below
ARGS = ["--value-units", "degC", "--bbox", "-6,50,1,57", "--resolution", 0.5]
ARGS += ["--end", "2019-03-27T07:00"]


def write(path: Path) -> Path:
    path.write_text("\n".join([HEADER, *LINES]) + "\n")
    return path


def test_bad_rows_are_skipped_counted_and_listed(tmp_path, small_bundle, scheduler) -> None:
    out = tmp_path / "g.nc"
    res = grid(write(tmp_path / "obs.csv"), "--out", out, *ARGS, model=small_bundle,
               scheduler=scheduler)  # fmt: skip
    assert res.exit_code == 0, res.output
    side = pd.read_csv(tmp_path / "g.nc.skipped.csv")
    assert dict(zip(side["where"], side.reason, strict=True)) == EXPECTED
    assert side.loc[side["where"] == "line 7", "value_degC"].item() == 99.0
    text = (tmp_path / "g.nc.skipped.csv").read_text()
    assert "99999" not in text and "00000000" not in text  # no K round-trip digits
    summary = (
        "14 rows: 3 observations used, 1 duplicates merged, 10 skipped (unparseable_time 1, "
        "non_finite 1, latitude_range 1, longitude_range 1, implausible_value 1, "
        "implausible_elevation 1, conflicting_duplicate 2, outside_time_axis 1, "
        "far_from_grid 1)"
    )
    assert summary in res.stdout and summary in res.stderr
    ds = xr.open_dataset(out)
    assert (ds.rows_read, ds.rows_skipped, ds.rows_merged, ds.bad_rows) == (14, 10, 1, 8)
    assert ds.skipped_conflicting_duplicate == 2 and ds.skipped_far_from_grid == 1
    assert ds.skipped_rows_file == "g.nc.skipped.csv"
    assert list(ds.n_stations.values) == [2, 1]  # 06:00 (line 10 with 11 merged), 07:00
    assert sorted(ds.obs_tas.values.round(3)) == [6.025, 9.0, 9.5]


def test_strict_fails_on_any_bad_row_before_any_work(tmp_path, small_bundle, scheduler) -> None:
    out = tmp_path / "g.nc"
    out.write_bytes(b"previous result")
    res = grid(write(tmp_path / "obs.csv"), "--out", out, *ARGS, "--strict",
               model=small_bundle, scheduler=scheduler)  # fmt: skip
    assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1
    assert res.stderr.startswith("equigrid grid: --strict: 8 bad rows (unparseable_time 1,")
    assert f"the first is {tmp_path / 'obs.csv'} line 4 (latitude_range)" in res.stderr
    assert out.read_bytes() == b"previous result" and not (tmp_path / "g.nc.partial").exists()
    assert len(pd.read_csv(tmp_path / "g.nc.rejected.csv")) == 10  # the list is there to mend
    assert "g.nc.rejected.csv" in res.stderr and not (tmp_path / "g.nc.skipped.csv").exists()
    good = tmp_path / "good.csv"
    good.write_text("\n".join([HEADER, LINES[0], LINES[13]]) + "\n")  # lines 2 and 15
    res = grid(good, "--out", out, *ARGS, "--strict", model=small_bundle, scheduler=scheduler)
    assert res.exit_code == 0, res.output


def test_a_failed_run_keeps_the_previous_output_and_its_side_file(
    tmp_path, small_bundle, scheduler
) -> None:
    """The side file is published with the output: a run that fails, before or during its
    work, replaces neither (it used to overwrite the side file before any work)."""
    out, side = tmp_path / "g.nc", tmp_path / "g.nc.skipped.csv"
    res = grid(write(tmp_path / "obs.csv"), "--out", out, *ARGS, model=small_bundle,
               scheduler=scheduler)  # fmt: skip
    assert res.exit_code == 0, res.output
    before = (out.read_bytes(), side.read_bytes())
    good = tmp_path / "good.csv"
    good.write_text("\n".join([HEADER, LINES[0], LINES[2]]) + "\n")  # one skipped row
    strict = grid(good, "--out", out, *ARGS, "--strict", model=small_bundle, scheduler=scheduler)
    assert strict.exit_code == 2 and (out.read_bytes(), side.read_bytes()) == before
    (tmp_path / "g.nc.partial").mkdir()  # an interrupted run's work: this run must stop
    busy = grid(good, "--out", out, *ARGS, model=small_bundle, scheduler=scheduler)
    assert busy.exit_code == 2 and "--resume" in busy.stderr
    assert (out.read_bytes(), side.read_bytes()) == before
    shutil.rmtree(tmp_path / "g.nc.partial")
    again = grid(good, "--out", out, *ARGS, model=small_bundle, scheduler=scheduler)
    assert again.exit_code == 0, again.output
    assert pd.read_csv(side)["where"].tolist() == ["line 3"]  # the new run's list, with it
    assert xr.open_dataset(out).rows_skipped == 1


@pytest.mark.parametrize(
    ("rows", "args", "message"),
    [
        ([{"lat": 51, "lon": 0, "value": 280}], ["--units", "F"], "--units"),
        ([{"lat": 51, "lon": 0, "value": 280}], [], "cannot tell the units"),
        ([{"lat": 51, "lon": 0}], [*VK], "no value column"),
        (
            [{"lat": 95, "lon": 0, "value": 280}],
            [*VK],
            "no station with valid coord",
        ),
        (
            [{"lat": 95, "lon": 0, "value": 280}],
            [*VK, "--bbox", "-1,50,1,52"],
            "bad",
        ),
        ([{"lat": 51, "lon": 0, "value": 280}], ["--value-units", "degC"], "every row is bad"),
        (
            [{"lat": 51, "lon": 0, "value": 280}],
            [*VK, "--bbox", "1,50,0,55"],
            "west",
        ),
        (
            [{"lat": 51, "lon": 0, "value": 280}],
            [*VK, "--resolution", "0"],
            "positive",
        ),
        (
            [{"lat": 51, "lon": 0, "value": 280}],
            [*VK, "--bbox", "a,b"],
            "four numbers",
        ),
        (
            [{"lat": 51, "lon": 0, "value": 280}],
            [*VK, "--start", "2019"],
            "time column",
        ),
        (
            [{"lat": 51, "lon": 0, "value": 280}],
            [*VK, "--columns", "lat"],
            "--columns",
        ),
        (
            [{"lat": 51, "lon": 0, "value": 280}],
            [*VK, "--batch-steps", "0"],
            "greater than or equal to 1",
        ),
        (
            [{"lat": 51, "lon": 0, "value": 280}],
            [*VK, "--workers", "0"],
            "greater than or equal to 1",
        ),
        (
            [{"lat": 51, "lon": 0, "value": 280}],
            [*VK, "--workers", "2", "--scheduler", "tcp://127.0.0.1:9"],
            "--scheduler's cluster has its own",
        ),
    ],
)
def test_bad_input_one_line_error_and_existing_output_untouched(
    tmp_path, small_bundle, rows, args, message
) -> None:
    csv = tmp_path / "obs.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    out = tmp_path / "grid.nc"
    out.write_bytes(b"previous result")
    res = grid(csv, "--out", out, *args, model=small_bundle)
    assert res.exit_code == 2, res.output
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert res.stderr.startswith("equigrid grid: ")
    assert out.read_bytes() == b"previous result"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith((".grid", "grid.nc.p"))] == []


def test_missing_inputs(tmp_path, small_bundle) -> None:
    res = grid(tmp_path / "none.csv", model=small_bundle)
    assert res.exit_code == 2 and "not found" in res.stderr
    res = grid("--demo", model=tmp_path / "nomodel")
    assert res.exit_code == 2 and "model bundle not found" in res.stderr
