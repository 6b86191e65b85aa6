"""Synthetic demo stations in a bundle's domain, so ``equigrid grid --demo`` needs no data."""

from __future__ import annotations

import numpy as np
import pandas as pd

from inference.bundle import Bundle

DEFAULT_DOMAIN = [[50.0, 58.0], [-10.0, 2.0]]


def demo_stations(bundle: Bundle, n: int = 150, steps: int = 3, seed: int = 0) -> pd.DataFrame:
    """Synthetic observations in the model's domain: a smooth field with a lapse rate."""
    rng = np.random.default_rng(seed)
    (la0, la1), (lo0, lo1) = bundle.domain or DEFAULT_DOMAIN
    lat = rng.uniform(la0, la1, n)
    lon = rng.uniform(lo0, lo1, n)
    elev = np.nan_to_num(bundle.model_elevation(lat, lon), nan=0.0)
    rows = []
    for k in range(steps):
        t = pd.Timestamp("2019-03-27T06:00") + pd.Timedelta(hours=6 * k)
        field = 281.0 + 2.0 * np.sin(k) - 0.5 * (lat - la0) + 0.2 * (lon - lo0) - 0.0065 * elev
        for j in range(n):
            rows.append((t, lat[j], lon[j], field[j] + rng.normal(0, 0.3), elev[j]))
    return pd.DataFrame(rows, columns=["time", "lat", "lon", "value_k", "elevation"])
