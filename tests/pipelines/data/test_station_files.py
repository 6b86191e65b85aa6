"""Station files of every kind become the same table: CSV, Parquet and CF DSG netCDF."""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np
import pandas as pd
import pytest

from inference.errors import StationError
from inference.units import TemperatureUnit
from pipelines.data.station_files import read_table
from pipelines.data.station_table import StationTable

ROWS = [
    # time, id, lat, lon, elevation, temperature (degC)
    ("2021-01-01T00:00", "A", 46.5, 11.3, 250.0, -2.5),
    ("2021-01-01T00:00", "B", 46.7, 11.1, 1200.0, -8.0),
    ("2021-01-01T01:00", "A", 46.5, 11.3, 250.0, -2.9),
    ("2021-01-01T01:00", "C", 46.9, 11.6, 2100.0, -12.25),
    ("2021-01-01T02:00", "B", 46.7, 11.1, 1200.0, -8.5),
]
COLUMNS = ["time_utc", "station_id", "latitude", "longitude", "elevation_m", "air_temperature_degC"]


def frame() -> pd.DataFrame:
    return pd.DataFrame(ROWS, columns=COLUMNS)


def as_set(t: StationTable) -> list[tuple]:
    """The observations, order-free, for comparing tables read from different layouts."""
    assert t.time is not None
    return sorted(
        (str(tm)[:16], str(i), la, lo, e, round(v, 6))
        for tm, i, la, lo, e, v in zip(
            t.time, t.station_id, t.lat, t.lon, t.elevation_m, t.value_k, strict=True
        )
    )


def test_csv_columns_units_and_line_numbers(tmp_path: Path) -> None:
    csv = tmp_path / "obs.csv"
    text = frame().to_csv(index=False).splitlines()
    text.insert(3, "")  # a blank line is not an observation, and does not shift the numbering
    text[4] = text[4].replace("-2.9", "n/a")
    csv.write_text("\n".join(text) + "\n")
    t = read_table(csv)
    assert t.units is TemperatureUnit.degC and len(t) == 5
    assert list(t.record) == [2, 3, 5, 6, 7] and t.where(2) == "line 5"
    np.testing.assert_allclose(t.value_k[[0, 1]], [270.65, 265.15])
    assert np.isnan(t.value_k[2])  # unreadable: becomes a non-finite row, judged later
    assert list(t.station_id) == ["A", "B", "A", "C", "B"]


def test_columns_mapped_by_flag_and_ids_from_positions(tmp_path: Path) -> None:
    f = frame().drop(columns="station_id")
    f.columns = ["obs_time", "y", "x", "height", "t_f_in_c"]
    f.to_csv(tmp_path / "odd.csv", index=False)
    with pytest.raises(StationError, match="no lat column"):
        read_table(tmp_path / "odd.csv")
    mapping = {"time": "obs_time", "lat": "y", "lon": "x", "value": "t_f_in_c"}
    t = read_table(tmp_path / "odd.csv", TemperatureUnit.degC, mapping | {"elevation": "height"})
    assert t.station_id[0] == "46.5,11.3" and t.elevation_m[3] == 2100.0
    with pytest.raises(StationError, match="not a column"):
        read_table(tmp_path / "odd.csv", TemperatureUnit.degC, mapping | {"id": "nope"})
    with pytest.raises(StationError, match="unknown keys"):
        read_table(tmp_path / "odd.csv", TemperatureUnit.degC, {"colour": "x"})


def test_parquet_reads_as_the_csv(tmp_path: Path) -> None:
    frame().to_csv(tmp_path / "obs.csv", index=False)
    f = frame()
    f["time_utc"] = pd.to_datetime(f["time_utc"]).dt.tz_localize("UTC")  # a real timestamp type
    f.to_parquet(tmp_path / "obs.parquet")
    a, b = read_table(tmp_path / "obs.csv"), read_table(tmp_path / "obs.parquet")
    assert as_set(a) == as_set(b) and b.where(0) == "row 0"
    for name in ("lat", "lon", "value_k", "elevation_m"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def write_orthogonal(path: Path) -> None:
    """CF-1.10 §9.3.1: tas(station, time), missing elements filled."""
    f = frame()
    ids, times = sorted(f.station_id.unique()), sorted(f.time_utc.unique())
    first = f.drop_duplicates("station_id").set_index("station_id").loc[ids]
    with netCDF4.Dataset(path, "w") as nc:
        nc.Conventions, nc.featureType = "CF-1.10", "timeSeries"
        nc.createDimension("station", len(ids))
        nc.createDimension("time", len(times))
        v = nc.createVariable("station_name", str, ("station",))
        v.cf_role = "timeseries_id"
        v[:] = np.array(ids, dtype=object)
        for name, col, std in (
            ("lat", "latitude", "latitude"),
            ("lon", "longitude", "longitude"),
            ("alt", "elevation_m", "surface_altitude"),
        ):
            v = nc.createVariable(name, "f8", ("station",))
            v.standard_name, v.units = std, "m" if name == "alt" else f"degrees_{name}"
            v[:] = first[col].to_numpy()
        v = nc.createVariable("time", "f8", ("time",))
        v.standard_name, v.units = "time", "hours since 2021-01-01 00:00:00"
        v[:] = np.arange(len(times))
        tas = nc.createVariable("t", "f8", ("station", "time"), fill_value=-999.0)
        tas.standard_name, tas.units, tas.coordinates = "air_temperature", "K", "time lat lon alt"
        data = np.full((len(ids), len(times)), -999.0)
        for row in f.itertuples():
            data[ids.index(row.station_id), times.index(row.time_utc)] = (
                row.air_temperature_degC + 273.15
            )
        tas[:] = data


def write_contiguous_ragged(path: Path) -> None:
    """CF-1.10 §9.3.3: observations of each station stored contiguously, row_size per station."""
    f = frame().sort_values(["station_id", "time_utc"], kind="stable")
    ids = sorted(f.station_id.unique())
    first = f.drop_duplicates("station_id").set_index("station_id").loc[ids]
    with netCDF4.Dataset(path, "w") as nc:
        nc.Conventions, nc.featureType = "CF-1.10", "timeSeries"
        nc.createDimension("station", len(ids))
        nc.createDimension("obs", len(f))
        v = nc.createVariable("station_id", str, ("station",))
        v.cf_role = "timeseries_id"
        v[:] = np.array(ids, dtype=object)
        v = nc.createVariable("row_size", "i4", ("station",))
        v.sample_dimension = "obs"
        v[:] = f.groupby("station_id").size().loc[ids].to_numpy()
        for name, col in (("latitude", "latitude"), ("longitude", "longitude")):
            v = nc.createVariable(name, "f8", ("station",))
            v.standard_name = name
            v[:] = first[col].to_numpy()
        v = nc.createVariable("elevation_m", "f8", ("station",))
        v[:] = first["elevation_m"].to_numpy()
        v = nc.createVariable("time", "f8", ("obs",))
        v.standard_name, v.units = "time", "minutes since 2021-01-01 00:00:00"
        v[:] = (pd.to_datetime(f.time_utc) - pd.Timestamp("2021-01-01")).dt.total_seconds() / 60
        v = nc.createVariable("temperature", "f8", ("obs",))
        v.units = "degC"
        v[:] = f.air_temperature_degC.to_numpy()


@pytest.mark.parametrize("write", [write_orthogonal, write_contiguous_ragged])
def test_cf_dsg_timeseries_reads_as_the_csv(tmp_path: Path, write) -> None:
    frame().to_csv(tmp_path / "obs.csv", index=False)
    write(tmp_path / "obs.nc")
    csv, nc = read_table(tmp_path / "obs.csv"), read_table(tmp_path / "obs.nc")
    assert as_set(nc) == as_set(csv)  # the fill values of the orthogonal array are no rows
    if write is write_orthogonal:
        assert nc.units is TemperatureUnit.K and nc.where(1) == "t[0,1]"
    else:
        assert nc.units is TemperatureUnit.degC and nc.where(0) == "temperature[0]"


def test_netcdf_that_is_not_a_timeseries_dsg_is_refused(tmp_path: Path) -> None:
    with netCDF4.Dataset(tmp_path / "grid.nc", "w") as nc:
        nc.createDimension("x", 2)
        nc.createVariable("t2m", "f4", ("x",))[:] = [280.0, 281.0]
    with pytest.raises(StationError, match="featureType = timeSeries"):
        read_table(tmp_path / "grid.nc")


def test_semicolon_and_tab_separated_csv(tmp_path: Path) -> None:
    for sep, name in ((";", "semi.csv"), ("\t", "tabs.csv")):
        rows = ["time_utc", "latitude", "longitude", "elevation_m", "air_temperature_degC"]
        text = sep.join(rows) + "\n" + sep.join(["2021-01-01T12:00", "46.5", "11.3", "250", "1.5"])
        (tmp_path / name).write_text(text + "\n")
        t = read_table(tmp_path / name)
        assert t.units is TemperatureUnit.degC and t.value_k[0] == pytest.approx(274.65)
        assert (t.lat[0], t.lon[0], t.elevation_m[0]) == (46.5, 11.3, 250.0)
