"""The experiments' data: the shared ERA5 files, ingested into stores, as fields and tasks.

:func:`ensure_store` ingests a shared file (with :func:`pipelines.data.ingest.ingest`, the
production path) into ``runs/stores`` when the store is missing. :class:`Era5` holds the UK
month split by days (1-21 train, 22-24 validation, 25-31 test) and draws the experiments'
tasks with the one sampler family (:class:`pipelines.tasks.sampler.CellSampler`). Values
are standardised with statistics fitted on the training days
(:meth:`inference.normalisation.Stats.fit`); the US snapshot uses the UK statistics.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import xarray as xr
from torch import nn

from inference.normalisation import Stats
from pipelines.data.ingest import ingest
from pipelines.data.store import SPLITS, open_store
from pipelines.tasks.field import Field, load_split
from pipelines.tasks.fixed import hour_tasks
from pipelines.tasks.sampler import CellSampler
from pipelines.tasks.task import Task

from .config import ERA5_TRAIN_TARGETS, ERA5_TRAIN_WINDOW, Context

UK_FILE = "era5_t2m_uk_2019-03_hourly.nc"
UK_OROG_FILE = "orog_uk_era5grid_0p25.nc"
CONUS_FILE = "era5_conus_1995-07-14T12.nc"


def ensure_store(ctx: Context, file: str, orography: str | None = None) -> Path:
    """The store of a shared ERA5 file (ingested on first use) under ``ctx.stores``."""
    path = ctx.stores / f"{Path(file).stem}.nc"
    if not path.is_file():
        ctx.log(f"ingesting {file} into {path}")
        orog = ctx.data / orography if orography is not None else None
        ingest([ctx.data / file], path, orog, command="python3 -m experiments (store)")
    return path


@dataclass
class Era5:
    """The UK month (every hour, one :class:`Field`) and its split into days."""

    data: Field
    split: dict[str, np.ndarray]
    land: np.ndarray  # land fraction on the grid, for maps
    ctx: Context

    @classmethod
    def load(cls, ctx: Context) -> Era5:
        ds = open_store(ensure_store(ctx, UK_FILE, UK_OROG_FILE))
        codes = ds["split"].values
        split = {name: np.flatnonzero(codes == c) for name, c in SPLITS.items()}
        stats = Stats.fit(ds["t2m"].values[split["train"]].astype(np.float64))
        land = ds["land_fraction"].values
        return cls(load_split(ds, None, stats=stats), split, land, ctx)

    @property
    def y_std(self) -> float:
        return self.data.stats["t2m"].std

    def conus(self) -> Field:
        """The US snapshot, standardised with the *UK* statistics (no orography)."""
        ds = open_store(ensure_store(self.ctx, CONUS_FILE))
        return load_split(ds, None, stats=self.data.stats["t2m"])

    def _sampler(self, split: str, with_orog: bool, windowed: bool) -> CellSampler:
        kw: dict[str, Any] = (
            {"window": ERA5_TRAIN_WINDOW, "max_targets": ERA5_TRAIN_TARGETS} if windowed else {}
        )
        return CellSampler(self.data.select(self.split[split]), point_aux=with_orog, **kw)

    def train_sampler(self, with_orog: bool) -> CellSampler:
        return self._sampler("train", with_orog, windowed=True)

    def val_tasks(self, with_orog: bool) -> list[Task]:
        s = self._sampler("val", with_orog, windowed=True)
        return hour_tasks(s, list(range(self.ctx.budget.n_val)), seed=1)

    def test_hours(self, split: str = "test") -> list[int]:
        """A seeded subset of ``n_test`` hours of the split's days (test: 25-31), in order."""
        rng = np.random.default_rng(2019)
        hours = rng.choice(len(self.split[split]), self.ctx.budget.n_test, replace=False)
        return sorted(int(h) for h in hours)

    def test_tasks(self, with_orog: bool, split: str = "test") -> list[Task]:
        """Full-grid tasks: 1-30 % of all cells as context, every other cell a target."""
        s = self._sampler(split, with_orog, windowed=False)
        return hour_tasks(s, self.test_hours(split), seed=3, batch_size=4)

    def aux_grid(self) -> dict[str, Any]:
        lat, lon = self.data.lat, self.data.lon
        return {
            "names": ["orog"],
            "origin": [float(lat[0]), float(lon[0])],
            "spacing": [float(lat[1] - lat[0]), float(lon[1] - lon[0])],
            "shape": [len(lat), len(lon)],
        }

    def set_orography(self, model: nn.Module) -> None:
        if self.data.orog is None:
            raise ValueError("no orography loaded")
        model.gridded_aux.set_raster(self.data.orog[None].clone())  # type: ignore[union-attr, operator]

    def train_days_kelvin(self) -> xr.DataArray:
        """The training days in kelvin, as DeepSensor wants them."""
        d, st = self.data, self.data.stats["t2m"]
        idx = self.split["train"]
        return xr.DataArray(
            d.values[torch.as_tensor(idx)].numpy() * st.std + st.mean,
            coords={"time": d.times[idx], "latitude": d.lat, "longitude": d.lon},
            dims=("time", "latitude", "longitude"),
            name="t2m",
        )
