"""A job's plan: its time axis, the stations' box without --bbox, nearness, fixed chunks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from inference.errors import ConfigError
from pipelines.batch.plan import chunk_spans, lon_arc, near_box, station_box, time_axis

T = np.array(["2021-01-01T00:00", "2021-01-01T03:00", "NaT", "2021-01-01T03:00"], "datetime64[ns]")


def test_time_axis_from_the_stations_or_the_options() -> None:
    own = time_axis(T)
    assert len(own) == 2 and own.described == "the stations' times"
    assert list(own.step_of(T)) == [0, 1, -1, 1]
    hourly = time_axis(T, freq="1h")  # from the first to the last station time
    assert len(hourly) == 4 and list(hourly.step_of(T)) == [0, 3, -1, 3]
    window = time_axis(T, start="2020-12-31T23:00", end="2021-01-01T02:00")
    assert list(window.step_of(T)) == [1, -1, -1, -1]  # 03:00 lies after --end
    zoned = time_axis(T, start="2021-01-01T01:00+01:00", end="2021-01-01T00:00Z")
    assert len(zoned) == 1 and zoned.times is not None
    assert pd.Timestamp(zoned.times[0]) == pd.Timestamp("2021-01-01T00:00")
    assert len(time_axis(None)) == 1
    with pytest.raises(ConfigError, match="need a station table with a time column"):
        time_axis(None, start="2021-01-01")
    with pytest.raises(ConfigError, match="no time steps"):
        time_axis(T, start="2021-01-02", end="2021-01-01")
    with pytest.raises(ConfigError, match="--start/--end/--freq"):
        time_axis(T, freq="fortnightly-ish")


def test_stations_box_takes_the_short_way_round() -> None:
    assert lon_arc(np.array([170.0, -175.0, 179.0])) == (170.0, 185.0)
    assert lon_arc(np.array([-10.0, 2.0, 0.0])) == (-10.0, 2.0)
    box = station_box(np.array([51.23, 58.01]), np.array([-9.87, 1.7]), 0.25)
    assert box == (-11.0, 50.0, 2.75, 59.25)  # 1 deg margin, snapped outwards to 0.25
    assert station_box(np.array([-89.5]), np.array([0.0]), 1.0)[1] == -90.0
    # a network from Guam eastwards to Europe (the SAO file): no -180..360 box holds it
    lon = np.array([144.8, -170.0, -100.0, -60.0, 0.0, 60.0])
    with pytest.raises(ConfigError, match=r"span 275 degrees of longitude.*give --bbox"):
        station_box(np.full(6, 40.0), lon, 0.1)


def test_near_box_across_the_antimeridian() -> None:
    lat = np.array([50.0, 50.0, 50.0, 80.0])
    lon = np.array([-176.0, 100.0, 186.0, 175.0])
    assert list(near_box(lat, lon, (170.0, 45.0, 185.0, 55.0), margin=2.0)) == [
        True,  # -176 is 184
        False,
        True,
        False,  # too far north
    ]


def test_chunks_depend_on_the_job_only() -> None:
    assert chunk_spans(5, 2) == [(0, 2), (2, 4), (4, 5)]
    with pytest.raises(ConfigError):
        chunk_spans(5, 0)
