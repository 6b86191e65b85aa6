"""Station observation tables: CSV -> validated :class:`inference.stations.Stations` per time.

A station table is CSV with one row per (time, station) observation. Columns are recognised
by name (``lat``/``latitude``, ``value``/``air_temperature_degC``/..., ``elevation_m``, ...),
units from ``--units`` or the value column's name (``..._degC``, ``..._K``). Each time
step's rows go through the one station validator (:func:`inference.stations.validate_stations`:
ranges, plausibility, the duplicate-position rule), which names offending rows by line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from inference.errors import StationError, one_line
from inference.stations import Stations, validate_stations
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
}


def _find(columns: list[str], key: str) -> str | None:
    low = {c.lower(): c for c in columns}
    for alias in ALIASES[key]:
        if alias in low:
            return low[alias]
    return None


def infer_units(column: str) -> TemperatureUnit | None:
    c = column.lower()
    if c.endswith(("degc", "_c", "celsius")):
        return TemperatureUnit.degC
    if c.endswith(("_k", "kelvin")):
        return TemperatureUnit.K
    return None


def read_stations(
    path: str | Path, units: TemperatureUnit | None = None
) -> tuple[pd.DataFrame, TemperatureUnit]:
    """Read a station CSV into columns ``time?, lat, lon, value_k, elevation, line``."""
    p = Path(path)
    if not p.is_file():
        raise StationError(f"station file not found: {p}")
    try:
        raw = pd.read_csv(p)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise StationError(f"cannot read {p} as CSV: {one_line(e)}") from None
    cols = [str(c) for c in raw.columns]
    found = {k: _find(cols, k) for k in ALIASES}
    for key in ("lat", "lon", "value"):
        if found[key] is None:
            raise StationError(f"{p}: no {key} column (accepted names: {', '.join(ALIASES[key])})")
    value_col = str(found["value"])
    unit = units or infer_units(value_col)
    if unit is None:
        raise StationError(f"{p}: cannot tell the units of column {value_col!r}; pass --units")
    df = pd.DataFrame(
        {
            "lat": pd.to_numeric(raw[found["lat"]], errors="coerce"),
            "lon": pd.to_numeric(raw[found["lon"]], errors="coerce"),
            "value_k": to_kelvin(
                pd.to_numeric(raw[value_col], errors="coerce").to_numpy(float), unit
            ),
        }
    )
    df["elevation"] = (
        pd.to_numeric(raw[found["elevation"]], errors="coerce") if found["elevation"] else np.nan
    )
    df["line"] = np.arange(len(df)) + 2  # line 1 is the header
    if found["time"]:
        t = pd.to_datetime(raw[found["time"]], errors="coerce", utc=True)
        if t.isna().any():
            bad = int(t.isna().sum())
            raise StationError(f"{p}: {bad} rows have an unreadable {found['time']!r}")
        df["time"] = t.dt.tz_convert(None)
    if df.empty:
        raise StationError(f"{p}: no observations")
    df.attrs["source"], df.attrs["units"] = str(p), unit
    return df, unit


def by_time(df: pd.DataFrame) -> list[Stations]:
    """Validated stations per time step (one set when there is no time column).

    Every step is checked before any is returned, so a bad row fails before work starts.
    """
    source = str(df.attrs.get("source", "stations"))
    unit = df.attrs.get("units", TemperatureUnit.K)
    groups = df.groupby("time", sort=True) if "time" in df else [(None, df)]
    out = []
    for t, g in groups:
        lines = g["line"].to_numpy() if "line" in g else np.arange(len(g)) + 2

        def label(i: int, lines: np.ndarray = lines) -> str:
            return f"{source} line {lines[i]}"

        out.append(
            validate_stations(
                g["lat"].to_numpy(float),
                g["lon"].to_numpy(float),
                g["value_k"].to_numpy(float),
                g["elevation"].to_numpy(float),
                units=unit,
                time=None if t is None else pd.Timestamp(t),
                label=label,
            )
        )
    return out
