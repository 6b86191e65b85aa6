"""The one station validator and duplicate rule, reached from batch gridding and the API."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from inference.errors import StationError
from inference.stations import (
    DUPLICATE_TOLERANCE_K,
    PROBLEMS,
    duplicate_groups,
    row_problems,
    validate_stations,
)
from pipelines.batch.plan import time_axis
from pipelines.batch.screening import Observations, Screening, screen
from pipelines.data.station_files import read_table
from service.schemas import StationsRequest


def test_agreeing_duplicates_are_averaged_in_first_seen_order() -> None:
    s = validate_stations(
        [52.0, 51.0, 51.0], [1.0, 0.0, 360.0], [281.0, 280.0, 280.08], [np.nan, 10.0, np.nan]
    )
    assert s.merged == 1 and len(s) == 2
    np.testing.assert_allclose(s.lat, [52.0, 51.0])
    np.testing.assert_allclose(s.value_k, [281.0, 280.04])
    np.testing.assert_allclose(s.elevation_m, [np.nan, 10.0])  # known elevations averaged


def test_conflicting_duplicates_are_refused() -> None:
    with pytest.raises(StationError, match=r"stations\[0\] and stations\[2\] share the position"):
        validate_stations([51.0, 52.0, 51.0], [0.0, 1.0, 0.0], [280.0, 281.0, 280.5])
    assert DUPLICATE_TOLERANCE_K == 0.1


@pytest.mark.parametrize(
    ("lat", "lon", "value", "says"),
    [
        (95.0, 0.0, 280.0, "latitude lies outside"),
        (50.0, 400.0, 280.0, "longitude lies outside"),
        (50.0, 0.0, float("nan"), "non-finite"),
        (50.0, 0.0, 20.0, "plausible range"),
    ],
)
def test_one_rule_per_check(lat: float, lon: float, value: float, says: str) -> None:
    with pytest.raises(StationError, match=says):
        validate_stations([lat], [lon], [value])


def _csv(tmp_path: Path, values: list[float]) -> Path:
    rows = [
        {"time": "2019-03-27T06:00", "lat": 51.0, "lon": 0.0, "temperature_degC": v} for v in values
    ]
    rows.append({"time": "2019-03-27T06:00", "lat": 52.0, "lon": 1.0, "temperature_degC": 8.0})
    pd.DataFrame(rows).to_csv(tmp_path / "s.csv", index=False)
    return tmp_path / "s.csv"


def _api(values: list[float]) -> StationsRequest:
    stations = [{"lat": 51.0, "lon": 0.0, "value": v} for v in values]
    stations.append({"lat": 52.0, "lon": 1.0, "value": 8.0})
    return StationsRequest.model_validate({"stations": stations, "units": "degC"})


def _screened(csv: Path) -> tuple[Observations, Screening]:
    table = read_table(csv)
    s = screen(table, time_axis(table.time), (-10.0, 40.0, 10.0, 60.0))
    return s.observations, s


def test_csv_and_api_reach_the_same_rule(tmp_path: Path) -> None:
    """Agreeing duplicates merge to the same stations; disagreeing ones are refused by the API
    and skipped (both rows, named by line) by batch gridding."""
    from_csv, s = _screened(_csv(tmp_path, [7.0, 7.06]))
    from_api = _api([7.0, 7.06]).station_set()
    for ours, theirs in (("lat", "lat"), ("lon", "lon"), ("value_k", "value_k")):
        np.testing.assert_array_equal(getattr(from_csv, ours), getattr(from_api, theirs))
    np.testing.assert_array_equal(from_csv.elevation_m, from_api.elevation_m)
    assert s.merged == from_api.merged == 1
    from_csv, s = _screened(_csv(tmp_path, [7.0, 7.5]))
    assert s.counts == {"conflicting_duplicate": 2} and list(from_csv.record) == [
        2
    ]  # row 2: line 4
    with pytest.raises(ValidationError, match=r"stations\[0\] and stations\[1\] share"):
        _api([7.0, 7.5])


def test_vectorised_rules_are_the_validators() -> None:
    """row_problems and duplicate_groups decide as validate_stations does, row by row."""
    lat = [95.0, 50.0, 50.0, np.nan, 50.0, 51.0, 51.0, 52.0]
    lon = [0.0, 400.0, 0.0, 0.0, 1.0, 0.0, 360.0, 2.0]
    val = [280.0, 280.0, 20.0, 280.0, 280.0, 280.0, 280.05, 281.0]
    elev = [0.0, 0.0, 0.0, 0.0, -9999.0, np.nan, 12.0, 9000.0]  # NaN: unknown, allowed
    names = [PROBLEMS[c][0] if c else "" for c in row_problems(lat, lon, val, elev)]
    assert names == [
        "latitude_range",
        "longitude_range",
        "implausible_value",
        "non_finite",
        "implausible_elevation",
        "",
        "",
        "",
    ]
    says = {
        "latitude_range": "latitude lies outside",
        "longitude_range": "longitude lies outside",
        "implausible_value": "plausible range",
        "non_finite": "non-finite",
        "implausible_elevation": "elevation is outside",
    }
    for i, name in enumerate(names[:5]):
        with pytest.raises(StationError, match=says[name]):
            validate_stations([lat[i]], [lon[i]], [val[i]], [elev[i]])
    lat, lon, val = lat[1:], lon[1:], val[1:]  # the duplicate checks below use rows 5..7
    g = duplicate_groups(lat[4:], lon[4:], val[4:], [np.nan] * 3, step=[0, 0, 1])
    assert list(g.group) == [0, 0, 1] and not g.conflict.any()  # 360 deg is 0 deg
    g = duplicate_groups(lat[4:], lon[4:], val[4:], [np.nan] * 3, step=[0, 1, 1])
    assert list(g.group) == [0, 1, 2]  # different steps never merge
    s = validate_stations(lat[4:], lon[4:], val[4:])
    np.testing.assert_array_equal(
        s.value_k, duplicate_groups(lat[4:], lon[4:], val[4:], [np.nan] * 3).value_k
    )
