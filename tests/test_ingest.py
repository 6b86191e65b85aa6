"""Ingestion: real shared files, each ERA5 schema, bad input via the CLI, CDS requests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from pipelines.ingest import ingest, parse_split
from pipelines.store import open_store, provenance

FIXTURE = "era5_t2m_uk_fixture_2019-03-01_3h.nc"
OROG = "orog_uk_era5grid_0p25.nc"


def test_real_fixture_round_trips_with_orography(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / FIXTURE
    out = ingest([src], tmp_path / "store.nc", orography=shared_data / OROG)
    store = open_store(out)
    with xr.open_dataset(src) as ref:
        xr.testing.assert_allclose(store["t2m"], ref["t2m"].drop_vars("height"))
    with xr.open_dataset(shared_data / OROG) as orog:
        # the orography file is on exactly this grid: interpolation must return it unchanged
        xr.testing.assert_allclose(store["orog"], orog["orog"])
        xr.testing.assert_allclose(store["land_fraction"], orog["land_fraction"])
    assert store["t2m"].dtype == np.float32
    assert (store["split"].values == 0).all()  # March 1-2: all training days
    assert store.attrs["orog_mean"] == pytest.approx(float(store["orog"].mean()), rel=1e-6)
    record = provenance(store)
    assert record["inputs"][0]["sha256"] == _sha256(src)
    assert record["orography"]["path"] == str((shared_data / OROG).resolve())


def test_statistics_come_from_the_training_split_only(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / FIXTURE
    store = open_store(ingest([src], tmp_path / "s.nc", split=parse_split("1-1,2-2")))
    with xr.open_dataset(src) as ref:
        day1 = ref["t2m"].sel(time="2019-03-01").astype(np.float64)
        everything = float(ref["t2m"].astype(np.float64).mean())
    np.testing.assert_array_equal(store["split"].values, [0] * 8 + [1] * 8)
    assert store.attrs["t2m_mean"] == pytest.approx(float(day1.mean()), abs=1e-6)
    assert store.attrs["t2m_std"] == pytest.approx(float(day1.std()), abs=1e-6)
    assert abs(store.attrs["t2m_mean"] - everything) > 0.1  # the split really matters here


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_provenance_is_json(shared_data: Path, tmp_path: Path) -> None:
    out = ingest([shared_data / FIXTURE], tmp_path / "s.nc", command="equigrid ingest x")
    with xr.open_dataset(out) as ds:
        record = json.loads(ds.attrs["provenance"])
    assert record["command"] == "equigrid ingest x"
    assert {"inputs", "written_utc", "orography"} <= set(record)
