"""Synthetic demo stations in a bundle's domain, so ``equigrid grid --demo`` needs no data."""

from __future__ import annotations

import numpy as np

from inference.bundle import Bundle
from inference.units import TemperatureUnit
from pipelines.data.era5 import UK_DOMAIN as DEFAULT_DOMAIN
from pipelines.data.station_table import StationTable


def demo_stations(bundle: Bundle, n: int = 150, steps: int = 3, seed: int = 0) -> StationTable:
    """Synthetic observations in the model's domain: a smooth field with a lapse rate,
    ``n`` stations every 6 hours for ``steps`` steps (rows numbered like CSV lines)."""
    rng = np.random.default_rng(seed)
    (la0, la1), (lo0, lo1) = bundle.domain or DEFAULT_DOMAIN
    lat = rng.uniform(la0, la1, n)
    lon = rng.uniform(lo0, lo1, n)
    elev = np.nan_to_num(bundle.model_elevation(lat, lon), nan=0.0)
    times, values = [], []
    for k in range(steps):
        t = np.datetime64("2019-03-27T06:00", "ns") + np.timedelta64(6 * k, "h")
        field = 281.0 + 2.0 * np.sin(k) - 0.5 * (lat - la0) + 0.2 * (lon - lo0) - 0.0065 * elev
        times.append(np.full(n, t))
        values.append(field + rng.normal(0, 0.3, n))
    return StationTable(
        lat=np.tile(lat, steps),
        lon=np.tile(lon, steps),
        value_k=np.concatenate(values),
        elevation_m=np.tile(elev, steps),
        station_id=np.tile(np.array([f"demo{j:03d}" for j in range(n)]), steps),
        time=np.concatenate(times).astype("datetime64[ns]"),
        record=np.arange(n * steps, dtype=np.int64) + 2,
        units=TemperatureUnit.K,
        source="demo stations",
    )
