"""Service test fixtures: a small real model bundle, trained here, and apps built on it.

The small bundle is an ``aeconvcnp`` (orography + land fraction as gridded inputs, point-wise
elevation as ``dim_aux=1``), trained for a few dozen AdamW steps on the 16-step ERA5 fixture
in ``../shared/data``; where that is absent, on smooth synthetic fields on the same grid, so
these tests never skip. ``default_client`` serves the shipped default model instead, whose
family (the anomaly model with a per-task trend) the small bundle does not cover.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi import FastAPI
from fastapi.testclient import TestClient

import models
from inference.bundle import DEFAULT_BUNDLE, save_bundle
from inference.normalisation import Stats
from service.app import create_app
from service.settings import Settings
from tests.conftest import SHARED_DATA, UK, small_config

LAT = np.linspace(50.0, 58.0, 33)
LON = np.linspace(-10.0, 2.0, 49)
TRAIN_STEPS = 30


def _fields() -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """(t2m [time, lat, lon] K, orography m, land fraction, source description)."""
    era5 = SHARED_DATA / "era5_t2m_uk_fixture_2019-03-01_3h.nc"
    orog = SHARED_DATA / "orog_uk_era5grid_0p25.nc"
    if era5.is_file() and orog.is_file():
        import xarray as xr

        with xr.open_dataset(era5) as t, xr.open_dataset(orog) as o:
            return (
                t["t2m"].values.astype(np.float64),
                o["orog"].values.astype(np.float64),
                o["land_fraction"].values.astype(np.float64),
                f"{era5.name} + {orog.name}",
            )
    la, lo = np.meshgrid(LAT, LON, indexing="ij")
    elev = 300 * np.exp(-((la - 56.5) ** 2 + (lo + 4.5) ** 2) / 2.0)
    hours = np.arange(16)[:, None, None]
    t2m = 280 + 3 * np.sin(la / 2 + hours / 4) + np.cos(lo / 3) - 0.0065 * elev
    return t2m, elev, (elev > 1).astype(np.float64), "synthetic smooth fields"


def train_small_bundle(directory: Path) -> Path:
    t2m, orog, land, source = _fields()
    aux = {"names": ["orog", "land_fraction"], "origin": [50.0, -10.0]}
    aux |= {"spacing": [0.25, 0.25], "shape": [33, 49]}
    torch.manual_seed(0)
    m = models.build_model(
        "aeconvcnp", **small_config("aeconvcnp") | {"aux_grid": aux, "dim_aux": 1}
    )
    m.gridded_aux.set_raster(torch.as_tensor(np.stack([orog, land]), dtype=torch.float32))
    t_stats = Stats(float(t2m.mean()), float(t2m.std()))
    e_stats = Stats(float(orog.mean()), float(orog.std()))
    la, lo = (
        torch.as_tensor(a.ravel(), dtype=torch.float32)
        for a in np.meshgrid(LAT, LON, indexing="ij")
    )
    x_all = torch.stack([la, lo], -1)
    y_all = t_stats.normalise(torch.as_tensor(t2m.reshape(len(t2m), -1), dtype=torch.float32))
    e_all = e_stats.normalise(torch.as_tensor(orog.ravel(), dtype=torch.float32))
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.AdamW(m.parameters(), lr=3e-3)
    m.train()
    losses = []
    for _ in range(TRAIN_STEPS):
        steps = torch.randint(0, len(t2m), (4,), generator=gen)
        idx = torch.stack([torch.randperm(len(x_all), generator=gen)[:100] for _ in range(4)])
        ic, it = idx[:, :30], idx[:, 30:]
        dist = m(
            x_all[ic],
            y_all[steps[:, None], ic][..., None],
            x_all[it],
            aux_c=e_all[ic][..., None],
            aux_t=e_all[it][..., None],
        )
        loss = models.gaussian_nll(dist, y_all[steps[:, None], it][..., None])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    m.eval()
    return save_bundle(
        m,
        directory,
        normalisation={"t2m": t_stats, "elevation": e_stats},
        point_aux=["elevation"],
        domain=UK,
        extra={
            "training": {
                "data": source,
                "window": ["2019-03-01T00:00", "2019-03-02T21:00"],
                "steps": TRAIN_STEPS,
            },
            "metrics": {"train_nll_first": losses[0], "train_nll_last": losses[-1]},
        },
    )


@pytest.fixture(scope="session")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_small_bundle(tmp_path_factory.mktemp("bundle") / "small")


def make_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def app_settings(bundle_dir: Path) -> Settings:
    return Settings(
        model=bundle_dir,
        device="cpu",
        max_stations=50,
        max_grid_cells=5000,
        max_points=5000,
        max_body_bytes=200_000,
        max_internal_cells=100_000,
    )


@pytest.fixture(scope="module")
def client(app_settings: Settings) -> Iterator[TestClient]:
    yield from make_client(app_settings)


@pytest.fixture(scope="module")
def app(client: TestClient) -> FastAPI:
    """The started app behind ``client`` (lifespan ran: model loaded and warmed up)."""
    assert isinstance(client.app, FastAPI)
    return client.app


@pytest.fixture(scope="module")
def default_client() -> Iterator[TestClient]:
    """The app on the shipped default model (``models/weights/default``)."""
    yield from make_client(Settings(model=DEFAULT_BUNDLE, device="cpu"))
