"""The one station validator and duplicate rule, reached from the CSV reader and the API."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from inference.errors import StationError
from inference.stations import DUPLICATE_TOLERANCE_K, validate_stations
from pipelines.data.station_table import by_time, read_stations
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


def test_csv_and_api_reach_the_same_rule(tmp_path: Path) -> None:
    """Agreeing duplicates merge to the same stations; disagreeing ones fail both ways."""
    (from_csv,) = by_time(read_stations(_csv(tmp_path, [7.0, 7.06]))[0])
    from_api = _api([7.0, 7.06]).station_set()
    for field in ("lat", "lon", "value_k", "elevation_m"):
        np.testing.assert_array_equal(getattr(from_csv, field), getattr(from_api, field))
    assert from_csv.merged == from_api.merged == 1
    with pytest.raises(StationError, match=r"line 2 and .* line 3 share the position"):
        by_time(read_stations(_csv(tmp_path, [7.0, 7.5]))[0])
    with pytest.raises(ValidationError, match=r"stations\[0\] and stations\[1\] share"):
        _api([7.0, 7.5])
