"""Station observation tables: one row per (time, station) observation, as read, in K.

:class:`StationTable` is what every station file becomes (CSV, Parquet: :mod:`.station_files`;
CF discrete-sampling-geometry netCDF: :mod:`.station_dsg`) before any row is judged: the
rows keep their record numbers (CSV line, Parquet row, netCDF index) so that the rows a
job skips can be named. Columns are recognised by name (:data:`ALIASES`, case-insensitive)
or mapped explicitly (``time=obs_time,value=t_degC``); the values' units come from the
data: the value column's name (``..._degC``, ``..._K``) or, in netCDF, its ``units``
attribute, and only where the file says nothing from ``--value-units``.
Judging rows is the job of the core's rules (:mod:`inference.stations`), applied by batch
gridding (:mod:`pipelines.batch.screening`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from inference.errors import StationError
from inference.units import TemperatureUnit, to_kelvin

ALIASES: dict[str, tuple[str, ...]] = {
    "time": ("time", "time_utc", "hour_utc", "valid_time", "datetime", "obs_time_utc", "date"),
    "lat": ("lat", "latitude"),
    "lon": ("lon", "longitude", "long"),
    "value": (
        "value",
        "t2m",
        "tas",
        "temperature",
        "air_temperature",
        "air_temperature_degc",
        "air_temperature_k",
        "temperature_degc",
        "temperature_k",
    ),
    "elevation": ("elevation_m", "elevation", "elev", "altitude", "altitude_m", "height_m"),
    "id": ("station_id", "station", "id", "station_name", "name", "wmo_id", "icao"),
}
REQUIRED = ("lat", "lon", "value")


@dataclass(frozen=True)
class StationTable:
    """Observations as read (nothing dropped): values in K, elevations in m (NaN: unknown).

    ``time`` is ``datetime64[ns]`` UTC (NaT where unreadable) or None for a table without
    times (one step). ``record`` numbers the rows in the file: a CSV line (the header is
    line 1), a Parquet row (from 0) or a flat index into the netCDF variable ``record_var``
    of shape ``record_shape``; :meth:`where` says it in words.
    """

    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    value_k: NDArray[np.float64]
    elevation_m: NDArray[np.float64]
    station_id: NDArray[np.str_]
    time: NDArray[np.datetime64] | None
    record: NDArray[np.int64]
    units: TemperatureUnit
    source: str
    record_kind: str = "line"  # "line", "row" or "index"
    record_var: str = ""
    record_shape: tuple[int, ...] = ()

    def __len__(self) -> int:
        return len(self.lat)

    def where(self, i: int) -> str:
        """Row ``i`` as its place in the file: ``line 17``, ``row 16``, ``tas[3,5]``."""
        r = int(self.record[i])
        if self.record_kind == "index":
            index = np.unravel_index(r, self.record_shape)
            return f"{self.record_var}[{','.join(str(int(k)) for k in index)}]"
        return f"{self.record_kind} {r}"


def find_column(
    columns: list[str], key: str, mapping: Mapping[str, str] | None = None
) -> str | None:
    """The column for ``key``: the mapped name (which must exist), else a known alias."""
    if mapping and key in mapping:
        if mapping[key] not in columns:
            raise StationError(f"--columns maps {key} to {mapping[key]!r}, which is not a column")
        return mapping[key]
    low = {c.lower(): c for c in columns}
    for alias in ALIASES[key]:
        if alias in low:
            return low[alias]
    return None


def check_mapping(mapping: Mapping[str, str]) -> None:
    unknown = sorted(set(mapping) - set(ALIASES))
    if unknown:
        raise StationError(f"--columns: unknown keys {unknown}; known: {', '.join(ALIASES)}")


def infer_units(column: str) -> TemperatureUnit | None:
    c = column.lower()
    if c.endswith(("degc", "_c", "celsius")):
        return TemperatureUnit.degC
    if c.endswith(("_k", "kelvin")):
        return TemperatureUnit.K
    return None


def parse_times(values: pd.Series | NDArray[np.object_]) -> NDArray[np.datetime64]:
    """Times as ``datetime64[ns]`` UTC without zone (given zones converted; none: UTC).

    ISO 8601 is read fast; other spellings one by one; unreadable ones become NaT.
    """
    s = pd.Series(values)
    if pd.api.types.is_datetime64_any_dtype(s):
        t = pd.to_datetime(s, utc=True)
    else:
        t = pd.to_datetime(s, errors="coerce", utc=True, format="ISO8601")
        retry = t.isna() & s.notna() & (s.astype(str).str.strip() != "")
        if retry.any():
            t[retry] = pd.to_datetime(s[retry], errors="coerce", utc=True, format="mixed")
    return t.dt.tz_convert(None).to_numpy("datetime64[ns]")


def numbers(values: object) -> NDArray[np.float64]:
    """Numbers of a column; anything unreadable becomes NaN (a non-finite row)."""
    return pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(np.float64)


def ids(values: object, lat: NDArray[np.float64], lon: NDArray[np.float64]) -> NDArray[np.str_]:
    """Station identifiers as text; without an id column, the position ``lat,lon``."""
    if values is None:
        return np.char.add(
            np.char.add(np.round(lat, 4).astype(str), ","), np.round(lon, 4).astype(str)
        )
    s = pd.Series(values).astype("string").fillna("").str.strip()
    return s.to_numpy(dtype=str)


def from_columns(
    frame: pd.DataFrame,
    found: Mapping[str, str | None],
    units: TemperatureUnit,
    source: str,
    record: NDArray[np.int64],
    record_kind: str,
) -> StationTable:
    """A :class:`StationTable` from a frame and the columns found in it."""
    lat, lon = numbers(frame[found["lat"]]), numbers(frame[found["lon"]])
    elev_col, time_col, id_col = found.get("elevation"), found.get("time"), found.get("id")
    return StationTable(
        lat=lat,
        lon=lon,
        value_k=to_kelvin(numbers(frame[found["value"]]), units),
        elevation_m=numbers(frame[elev_col]) if elev_col else np.full(len(lat), np.nan),
        station_id=ids(frame[id_col] if id_col else None, lat, lon),
        time=parse_times(frame[time_col]) if time_col else None,
        record=record.astype(np.int64),
        units=units,
        source=source,
        record_kind=record_kind,
    )
