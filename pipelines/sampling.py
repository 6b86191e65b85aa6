"""Tasks from a training store: simulated stations on ERA5 grid cells, the rest as targets.

:func:`load_split` reads one split of a store into memory (normalised with the store's
training statistics). :class:`StoreSampler` implements :class:`~pipelines.tasks.TaskSampler`
for training: each task is one hour; its context is a random fraction (or a count range) of
the grid cells, optionally only land cells, or a random subset of a real station layout
(values interpolated bilinearly from the grid); its targets are the remaining cells, capped.
:func:`make_tasks` draws a seeded, fixed task list for validation and testing: one hour,
exactly ``n_stations`` random cells as context, every other cell as a target.

Inputs are (latitude, longitude) in degrees; the point-wise auxiliary, when asked for, is the
store orography (m) at each point, normalised with the store's ``orog_mean``/``orog_std``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import xarray as xr
from torch import Tensor

from .bundle import Stats
from .store import SPLITS, StoreError
from .tasks import Task, pad_stack


@dataclass(frozen=True)
class SplitField:
    """One split of a store in memory.

    t2m: ``[time, lat, lon]`` normalised; lat/lon: ``[n]`` ascending degrees; orog and
    land: ``[lat, lon]`` raw (m, 1) or None; stats: ``t2m`` and, with orography, ``elevation``.
    """

    t2m: Tensor
    lat: Tensor
    lon: Tensor
    times: np.ndarray
    orog: Tensor | None
    land: Tensor | None
    stats: dict[str, Stats]

    @property
    def points(self) -> Tensor:
        """Every cell's (lat, lon), row-major: ``[n_cells, 2]``."""
        la, lo = torch.meshgrid(self.lat, self.lon, indexing="ij")
        return torch.stack([la.reshape(-1), lo.reshape(-1)], dim=-1)

    @property
    def n_cells(self) -> int:
        return int(self.lat.numel() * self.lon.numel())

    def elevation(self, pts: Tensor) -> Tensor:
        """Normalised orography at ``[n, 2]`` points: ``[n, 1]``."""
        if self.orog is None:
            raise StoreError("the store has no orography (needed for point elevation)")
        return self.stats["elevation"].normalise(bilinear(self.orog, self.lat, self.lon, pts))[
            :, None
        ]


def load_split(ds: xr.Dataset, split: str) -> SplitField:
    """Read split ``split`` (train / val / test) of an opened store."""
    if split not in SPLITS:
        raise StoreError(f"unknown split {split!r}; known: {sorted(SPLITS)}")
    sel = ds["split"].values == SPLITS[split]
    if not sel.any():
        raise StoreError(f"the store has no time steps in split {split!r}")
    stats = {"t2m": Stats(float(ds.attrs["t2m_mean"]), float(ds.attrs["t2m_std"]))}
    raw = torch.tensor(ds["t2m"].values[sel], dtype=torch.float32)
    if not torch.isfinite(raw).all():
        raise StoreError(f"t2m has missing values in split {split!r}")
    orog = land = None
    if "orog" in ds:
        orog = torch.tensor(ds["orog"].values, dtype=torch.float32)
        mean = float(ds.attrs.get("orog_mean", float(orog.mean())))
        std = float(ds.attrs.get("orog_std", float(orog.std())))
        stats["elevation"] = Stats(mean, std)
    if "land_fraction" in ds:
        land = torch.tensor(ds["land_fraction"].values, dtype=torch.float32)
    return SplitField(
        t2m=stats["t2m"].normalise(raw),
        lat=torch.tensor(ds["latitude"].values, dtype=torch.float32),
        lon=torch.tensor(ds["longitude"].values, dtype=torch.float32),
        times=ds["time"].values[sel],
        orog=orog,
        land=land,
        stats=stats,
    )


def bilinear(grid: Tensor, lat: Tensor, lon: Tensor, pts: Tensor) -> Tensor:
    """Bilinear interpolation of ``grid [..., n_lat, n_lon]`` at ``pts [n, 2]`` -> ``[..., n]``.

    Points must lie inside the grid (regular, ascending axes).
    """

    def frac(axis: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
        pos = (x - axis[0]) / (axis[1] - axis[0])
        i0 = pos.floor().long().clamp(0, len(axis) - 2)
        return i0, (pos - i0).clamp(0.0, 1.0)

    i, a = frac(lat, pts[:, 0])
    j, b = frac(lon, pts[:, 1])
    g00, g01 = grid[..., i, j], grid[..., i, j + 1]
    g10, g11 = grid[..., i + 1, j], grid[..., i + 1, j + 1]
    return (1 - a) * ((1 - b) * g00 + b * g01) + a * ((1 - b) * g10 + b * g11)


def read_layout(path: str | Path) -> Tensor:
    """Station positions from a CSV with latitude/longitude (or lat/lon) columns: ``[n, 2]``."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"station layout not found: {p}")
    with p.open(newline="") as f:
        reader = csv.DictReader(f)
        cols = {c.strip().lower(): c for c in reader.fieldnames or []}
        la = cols.get("latitude", cols.get("lat"))
        lo = cols.get("longitude", cols.get("lon"))
        if la is None or lo is None:
            raise ValueError(f"{p}: needs latitude and longitude columns")
        try:
            rows = {(float(r[la]), float(r[lo])) for r in reader}
        except (TypeError, ValueError):
            raise ValueError(f"{p}: latitude/longitude must be numbers on every row") from None
    if not rows:
        raise ValueError(f"{p}: no stations")
    return torch.tensor(sorted(rows), dtype=torch.float32)


class StoreSampler:
    """Training tasks from a :class:`SplitField` (see the module docstring).

    Args:
        fraction: (low, high) fraction of candidate cells used as stations, uniform per task.
        count: (low, high) station count per task instead of ``fraction``.
        land_only: only cells with land fraction >= 0.5 become stations.
        max_targets: at most this many targets per task (a random subset).
        layout: ``[n, 2]`` real station positions; used for a task with ``layout_prob``.
        point_aux: add the elevation at each point as ``aux_c``/``aux_t``.
    """

    def __init__(
        self,
        data: SplitField,
        *,
        fraction: tuple[float, float] = (0.01, 0.30),
        count: tuple[int, int] | None = None,
        land_only: bool = False,
        max_targets: int | None = 512,
        layout: Tensor | None = None,
        layout_prob: float = 0.5,
        point_aux: bool = False,
    ) -> None:
        if not 0 < fraction[0] <= fraction[1] < 1:
            raise ValueError("station fraction must satisfy 0 < low <= high < 1")
        if count is not None and not 1 <= count[0] <= count[1] < data.n_cells:
            raise ValueError(f"station count must satisfy 1 <= low <= high < {data.n_cells}")
        self.data = data
        self.fraction, self.count = fraction, count
        self.max_targets = max_targets
        self.point_aux = point_aux
        if point_aux and data.orog is None:
            raise StoreError("point elevation needs orography in the store")
        self.cells = data.points
        self.candidates = torch.arange(data.n_cells)
        if land_only:
            if data.land is None:
                raise StoreError("--land-only needs land_fraction in the store")
            self.candidates = torch.nonzero(data.land.reshape(-1) >= 0.5).squeeze(-1)
            if len(self.candidates) < 2:
                raise StoreError("the store has fewer than 2 land cells")
        self.layout = None
        if layout is not None:
            inside = (
                (layout[:, 0] >= data.lat[0])
                & (layout[:, 0] <= data.lat[-1])
                & (layout[:, 1] >= data.lon[0])
                & (layout[:, 1] <= data.lon[-1])
            )
            if not inside.any():
                raise ValueError("no station of the layout lies inside the store's grid")
            self.layout = layout[inside]
        self.layout_prob = layout_prob

    def _n_stations(self, available: int, gen: torch.Generator) -> int:
        if self.count is not None:
            lo, hi = self.count
        else:
            lo = round(self.fraction[0] * available)
            hi = round(self.fraction[1] * available)
        lo, hi = max(1, min(lo, available)), max(1, min(hi, available))
        return int(torch.randint(lo, hi + 1, (1,), generator=gen))

    def _one(self, gen: torch.Generator) -> tuple[Tensor, ...]:
        d = self.data
        hour = d.t2m[int(torch.randint(len(d.t2m), (1,), generator=gen))].reshape(-1)
        use_layout = self.layout is not None and (
            float(torch.rand(1, generator=gen)) < self.layout_prob
        )
        if use_layout:
            assert self.layout is not None
            n = self._n_stations(len(self.layout), gen)
            xc = self.layout[torch.randperm(len(self.layout), generator=gen)[:n]]
            grid = hour.reshape(len(d.lat), len(d.lon))
            yc = bilinear(grid, d.lat, d.lon, xc)[:, None]
            rest = torch.randperm(d.n_cells, generator=gen)
        else:
            n = self._n_stations(len(self.candidates), gen)
            pick = self.candidates[torch.randperm(len(self.candidates), generator=gen)[:n]]
            xc, yc = self.cells[pick], hour[pick][:, None]
            is_ctx = torch.zeros(d.n_cells, dtype=torch.bool)
            is_ctx[pick] = True
            others = torch.nonzero(~is_ctx).squeeze(-1)
            rest = others[torch.randperm(len(others), generator=gen)]
        tgt = rest[: self.max_targets] if self.max_targets else rest
        return xc, yc, self.cells[tgt], hour[tgt][:, None]

    def sample(self, batch_size: int, generator: torch.Generator) -> Task:
        rows = [self._one(generator) for _ in range(batch_size)]
        return assemble(rows, self.data if self.point_aux else None)


def assemble(rows: list[tuple[Tensor, ...]], aux_from: SplitField | None) -> Task:
    """Pad ``(xc, yc, xt, yt)`` rows into one :class:`Task` (elevation aux from ``aux_from``)."""
    xc, mask_c = pad_stack([r[0] for r in rows])
    yc, _ = pad_stack([r[1] for r in rows])
    xt, mask_t = pad_stack([r[2] for r in rows])
    yt, _ = pad_stack([r[3] for r in rows])
    aux_c = aux_t = None
    if aux_from is not None:
        aux_c, _ = pad_stack([aux_from.elevation(r[0]) for r in rows])
        aux_t, _ = pad_stack([aux_from.elevation(r[2]) for r in rows])
    full_c = bool(mask_c.all())
    full_t = bool(mask_t.all())
    return Task(
        xc,
        yc,
        xt,
        yt,
        mask_c=None if full_c else mask_c,
        mask_t=None if full_t else mask_t,
        aux_c=aux_c,
        aux_t=aux_t,
    )


def make_tasks(
    data: SplitField,
    n_tasks: int,
    n_stations: int,
    seed: int,
    *,
    point_aux: bool = False,
) -> tuple[list[Task], list[int]]:
    """Fixed tasks: per task one hour (distinct while hours last), ``n_stations`` random
    cells as context and every other cell as a target. Returns the tasks (batch 1 each) and
    the time index of each."""
    if not 1 <= n_stations < data.n_cells:
        raise ValueError(f"stations must lie in 1..{data.n_cells - 1}")
    gen = torch.Generator().manual_seed(seed)
    n_time = len(data.t2m)
    order = torch.cat([torch.randperm(n_time, generator=gen) for _ in range(-(-n_tasks // n_time))])
    hours = [int(h) for h in order[:n_tasks]]
    cells = data.points
    tasks = []
    for h in hours:
        values = data.t2m[h].reshape(-1, 1)
        perm = torch.randperm(data.n_cells, generator=gen)
        ctx, tgt = perm[:n_stations].sort().values, perm[n_stations:].sort().values
        row = (cells[ctx], values[ctx], cells[tgt], values[tgt])
        tasks.append(assemble([row], data if point_aux else None))
    return tasks, hours
