"""A small real store from the 16-step ERA5 fixture, for tests of training and evaluation.

Written with :func:`pipelines.store.write_store` directly until `equigrid ingest` lands.
Splits: the first 10 steps train, the next 3 validation, the last 3 test.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from pipelines.store import STORE_VERSION, write_store

FIXTURE = "era5_t2m_uk_fixture_2019-03-01_3h.nc"
OROG = "orog_uk_era5grid_0p25.nc"


def fixture_store(shared: Path, out: Path) -> Path:
    t2m = xr.open_dataset(shared / FIXTURE)["t2m"].load()
    static = xr.open_dataset(shared / OROG).load()
    split = np.array([0] * 10 + [1] * 3 + [2] * 3, dtype=np.int8)
    train = t2m.values[split == 0]
    ds = xr.Dataset(
        {
            "t2m": t2m.drop_vars([c for c in t2m.coords if c not in t2m.dims]),
            "orog": static["orog"],
            "land_fraction": static["land_fraction"],
            "split": ("time", split),
        },
        attrs={
            "equigrid_store_version": STORE_VERSION,
            "t2m_mean": float(train.mean()),
            "t2m_std": float(train.std()),
            "orog_mean": float(static["orog"].mean()),
            "orog_std": float(static["orog"].std()),
            "provenance": json.dumps({"inputs": [FIXTURE, OROG], "command": "tests"}),
        },
    )
    return write_store(ds, out)
