"""Simulated-station tasks from a gridded field: one hour, a random share of cells as context.

A task is one time step of a ``(time, latitude, longitude)`` field: a random 1-30 % of the
grid cells are the context ("stations"), the other cells are the targets. Inputs are
(latitude, longitude) in degrees; values are standardised with statistics of the training
days (:class:`~pipelines.bundle.Stats`), which travel with the results so kelvin can be recovered.
Optionally the sampler also hands out orography at every point as a point-wise auxiliary.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import xarray as xr
from torch import Tensor

from .bundle import Stats
from .store import split_by_day
from .tasks import Task, pad_stack

UK_FILE = "era5_t2m_uk_2019-03_hourly.nc"
UK_OROG_FILE = "orog_uk_era5grid_0p25.nc"
CONUS_FILE = "era5_conus_1995-07-14T12.nc"
UK_DOMAIN = [[50.0, 58.0], [-10.0, 2.0]]


@dataclass
class GridTaskSampler:
    """Tasks from ``values: [time, n_lat, n_lon]`` (already standardised), a :class:`TaskSampler`.

    ``aux`` (``[n_lat, n_lon]``, standardised) is given to every point when set.
    ``max_targets`` subsamples the targets (training); ``None`` keeps all other cells.
    ``window`` crops a random ``(n_lat, n_lon)`` window per task (for large domains).
    """

    values: Tensor
    lat: Tensor
    lon: Tensor
    aux: Tensor | None = None
    context_fraction: tuple[float, float] = (0.01, 0.30)
    max_targets: int | None = None
    window: tuple[int, int] | None = None

    def _one(self, t: int, gen: torch.Generator) -> tuple[Tensor, ...]:
        field, lat, lon, aux = self.values[t], self.lat, self.lon, self.aux
        if self.window is not None:
            h, w = self.window
            i = int(torch.randint(field.shape[0] - h + 1, (1,), generator=gen))
            j = int(torch.randint(field.shape[1] - w + 1, (1,), generator=gen))
            field, lat, lon = field[i : i + h, j : j + w], lat[i : i + h], lon[j : j + w]
            aux = None if aux is None else aux[i : i + h, j : j + w]
        glat, glon = torch.meshgrid(lat, lon, indexing="ij")
        x = torch.stack([glat.reshape(-1), glon.reshape(-1)], dim=-1)
        y = field.reshape(-1, 1)
        a = None if aux is None else aux.reshape(-1, 1)
        n = x.shape[0]
        lo, hi = self.context_fraction
        frac = lo + (hi - lo) * float(torch.rand(1, generator=gen))
        nc = max(1, round(frac * n))
        perm = torch.randperm(n, generator=gen)
        ic, it = perm[:nc], perm[nc:]
        if self.max_targets is not None:
            it = it[: self.max_targets]
        parts = [x[ic], y[ic], x[it], y[it]]
        if a is not None:
            parts += [a[ic], a[it]]
        return tuple(parts)

    def task(self, times: list[int], gen: torch.Generator) -> Task:
        """The task batch for the given time indices (padding repeats each task's first point,
        so padded inputs never stretch a ConvCNP's grid; the masks exclude them)."""
        rows = [self._one(t, gen) for t in times]
        cols = [_pad_repeat([r[k] for r in rows]) for k in range(len(rows[0]))]
        xc, mask_c = cols[0]
        xt, mask_t = cols[2]
        aux_c, aux_t = (cols[4][0], cols[5][0]) if self.aux is not None else (None, None)
        return Task(xc, cols[1][0], xt, cols[3][0], mask_c, mask_t, aux_c, aux_t)

    def sample(self, batch_size: int, generator: torch.Generator) -> Task:
        n_time = self.values.shape[0]
        times = torch.randint(n_time, (batch_size,), generator=generator).tolist()
        return self.task(times, generator)


def _pad_repeat(rows: list[Tensor]) -> tuple[Tensor, Tensor]:
    n = max(r.shape[0] for r in rows)
    full = [torch.cat([r, r[:1].expand(n - r.shape[0], -1)]) for r in rows]
    return torch.stack(full), pad_stack(rows)[1]


@dataclass(frozen=True)
class GriddedData:
    """A standardised field with its coordinates, plus (optionally) standardised orography."""

    values: Tensor
    lat: Tensor
    lon: Tensor
    times: np.ndarray
    norm: Stats
    orog: Tensor | None = None
    orog_raw: np.ndarray | None = None

    def sampler(
        self, times: np.ndarray | None = None, with_orog: bool = False, **kw: object
    ) -> GridTaskSampler:
        vals = self.values if times is None else self.values[torch.as_tensor(times)]
        aux = self.orog if with_orog else None
        if with_orog and aux is None:
            raise ValueError("this data has no orography")
        return GridTaskSampler(vals, self.lat, self.lon, aux, **kw)  # type: ignore[arg-type]


def load_uk(data_dir: Path) -> tuple[GriddedData, dict[str, np.ndarray]]:
    """The UK month, standardised with the training days' statistics, and the day split
    (``{"train": idx, "val": idx, "test": idx}`` of time indices: days 1-21, 22-24, 25-31)."""
    ds = xr.open_dataset(data_dir / UK_FILE)
    orog = xr.open_dataset(data_dir / UK_OROG_FILE)["orog"]
    t2m = ds["t2m"].transpose("time", "latitude", "longitude").values.astype(np.float64)
    codes = split_by_day(list(ds["time"].values))
    split = {name: np.flatnonzero(codes == c) for c, name in enumerate(("train", "val", "test"))}
    norm = Stats.fit(t2m[split["train"]])
    orog_raw = orog.sel(latitude=ds.latitude, longitude=ds.longitude).values.astype(np.float64)
    orog_norm = Stats.fit(orog_raw)
    data = GriddedData(
        values=torch.as_tensor(norm.normalise(t2m), dtype=torch.float32),
        lat=torch.tensor(ds["latitude"].values, dtype=torch.float32),
        lon=torch.tensor(ds["longitude"].values, dtype=torch.float32),
        times=ds["time"].values,
        norm=norm,
        orog=torch.as_tensor(orog_norm.normalise(orog_raw), dtype=torch.float32),
        orog_raw=orog_raw,
    )
    return data, split


def load_conus(data_dir: Path, norm: Stats) -> GriddedData:
    """The US snapshot, standardised with the *UK* statistics (no orography on this grid)."""
    ds = xr.open_dataset(data_dir / CONUS_FILE)
    t2m = ds["t2m"].transpose("time", "latitude", "longitude").values.astype(np.float64)
    return GriddedData(
        values=torch.as_tensor(norm.normalise(t2m), dtype=torch.float32),
        lat=torch.tensor(ds["latitude"].values, dtype=torch.float32),
        lon=torch.tensor(ds["longitude"].values, dtype=torch.float32),
        times=ds["time"].values,
        norm=norm,
    )


def fixed_tasks(
    sampler: GridTaskSampler, times: list[int], seed: int, batch_size: int = 8
) -> list[Task]:
    """Deterministic evaluation tasks, one per entry of ``times``, batched."""
    gen = torch.Generator().manual_seed(seed)
    return [sampler.task(times[s : s + batch_size], gen) for s in range(0, len(times), batch_size)]
