"""Station observation tables: column recognition, units, and per-time grouping.

A station table is CSV with one row per (time, station) observation. Columns are recognised
by name (``lat``/``latitude``, ``value``/``air_temperature_degC``/..., ``elevation_m``, ...),
units from ``--units`` or the value column's name (``..._degC``, ``..._K``).

Rule for repeated positions within one time step: rows at the same (lat, lon) are merged
into one station whose value is their mean; how many were merged is reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .cf import to_kelvin

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
PLAUSIBLE_K = (183.15, 333.15)  # -90 .. +60 degC


class StationError(ValueError):
    """A station table cannot be used."""


@dataclass(frozen=True)
class StationSet:
    """Stations of one time step; values in K, elevation in m (NaN where unknown)."""

    time: pd.Timestamp | None
    lat: np.ndarray
    lon: np.ndarray
    value_k: np.ndarray
    elevation: np.ndarray
    merged: int = 0


def _find(columns: list[str], key: str) -> str | None:
    low = {c.lower(): c for c in columns}
    for alias in ALIASES[key]:
        if alias in low:
            return low[alias]
    return None


def infer_units(column: str) -> str | None:
    c = column.lower()
    if c.endswith(("degc", "_c", "celsius")):
        return "degC"
    if c.endswith(("_k", "kelvin")):
        return "K"
    return None


def read_stations(path: str | Path, units: str | None = None) -> tuple[pd.DataFrame, str]:
    """Read a station CSV into columns ``time?, lat, lon, value_k, elevation``."""
    p = Path(path)
    if not p.is_file():
        raise StationError(f"station file not found: {p}")
    try:
        raw = pd.read_csv(p)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise StationError(f"cannot read {p} as CSV: {str(e).splitlines()[0]}") from None
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
    if found["time"]:
        t = pd.to_datetime(raw[found["time"]], errors="coerce", utc=True)
        if t.isna().any():
            bad = int(t.isna().sum())
            raise StationError(f"{p}: {bad} rows have an unreadable {found['time']!r}")
        df["time"] = t.dt.tz_convert(None)
    bad = ~(np.isfinite(df[["lat", "lon", "value_k"]]).all(axis=1))
    if bad.any():
        raise StationError(f"{p}: {int(bad.sum())} rows lack a finite lat, lon or value")
    if ((df["lat"] < -90) | (df["lat"] > 90)).any():
        raise StationError(f"{p}: latitudes must lie in [-90, 90]")
    lo, hi = PLAUSIBLE_K
    out = (df["value_k"] < lo) | (df["value_k"] > hi)
    if out.any():
        raise StationError(
            f"{p}: {int(out.sum())} temperatures outside -90..60 degC (check --units {unit})"
        )
    if df.empty:
        raise StationError(f"{p}: no observations")
    return df, unit


def by_time(df: pd.DataFrame) -> Iterator[StationSet]:
    """Station sets per time step (one set when there is no time column), positions merged."""
    groups = df.groupby("time", sort=True) if "time" in df else [(None, df)]
    for t, g in groups:
        merged = (
            g.groupby(["lat", "lon"], sort=False)
            .agg(
                value_k=("value_k", "mean"), elevation=("elevation", "mean"), n=("value_k", "size")
            )
            .reset_index()
        )
        yield StationSet(
            time=None if t is None else pd.Timestamp(t),
            lat=merged["lat"].to_numpy(float),
            lon=merged["lon"].to_numpy(float),
            value_k=merged["value_k"].to_numpy(float),
            elevation=merged["elevation"].to_numpy(float),
            merged=int(len(g) - len(merged)),
        )
