"""The world model's samplers: a mixture of sources, members of the one sampler family.

Every task is one set of "stations" (context) and targets, in physical units: positions
(lat, lon) in degrees, values in K, elevations in m as the point auxiliary -- each point at
its *own* elevation, as in use. Rows are padded by the one padding rule
(:func:`~pipelines.tasks.task.assemble`). Sources (read by :mod:`.sources`):

- :class:`SimulatedSampler`: physically plausible fields over the real terrain files (Alps,
  Europe, UK at 0.1 deg, Colorado at 1 arc-minute, CONUS PRISM at 2.5 arc-minute;
  :mod:`.simulate`), with stations and targets at fine-DEM positions and the fine DEM's
  height, clustered layouts of 10-1000 stations and iid station noise of 0.2-1.5 K;
- :func:`reanalysis_sampler`: the one :class:`~pipelines.tasks.sampler.CellSampler` on a
  :class:`~pipelines.tasks.field.Field` in K and m: the ERA5 UK month's training days (1-21;
  22-24 validate, 25-31 are the test week) or the ERA5 CONUS hour (random windows);
  stations and targets are grid cells at the cell's elevation; no noise.

Boxes that overlap the fixed inputs' domain (the UK box) are translated 40 deg east for
simulated fields, so the fixed inputs learn only from real UK data (translation is
harmless to the equivariant component). The real station files are never read here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from numpy.typing import NDArray

from ..data.era5 import UK_DOMAIN
from .field import Field
from .sampler import CellSampler
from .simulate import Terrain, layout_weights, simulate
from .task import Row, Task, TaskSampler, assemble

Array = NDArray[np.float64]


# ------------------------------------------------------------------------ samplers


def _row(xc: Array, yc: Array, xt: Array, yt: Array, ec: Array, et: Array) -> Row:
    """One task's ``(xc, yc, xt, yt, aux_c, aux_t)`` as float32 tensors (elevations as aux)."""

    def t(a: Array) -> torch.Tensor:
        return torch.tensor(a, dtype=torch.float32)

    return t(xc), t(yc)[:, None], t(xt), t(yt)[:, None], t(ec)[:, None], t(et)[:, None]


def _count(rng: np.random.Generator, lo: int, hi: int) -> int:
    hi = max(lo, hi)
    return int(np.exp(rng.uniform(np.log(lo), np.log(hi + 1)))) if hi > lo else lo


class SimulatedSampler:
    """Simulated fields over real terrain (see the module docstring)."""

    def __init__(
        self,
        terrains: list[Terrain],
        max_targets: int = 256,
        stations: tuple[int, int] = (10, 1000),
        box_deg: tuple[float, float] = (1.5, 10.0),
    ):
        self.terrains, self.max_targets = terrains, max_targets
        self.stations, self.box_deg = stations, box_deg

    def _box(
        self, rng: np.random.Generator
    ) -> tuple[Terrain, NDArray[np.int64], NDArray[np.int64]]:
        t = self.terrains[rng.integers(len(self.terrains))]
        for _ in range(20):
            size = rng.uniform(*self.box_deg)
            step = float(t.lat[1] - t.lat[0])
            ni = min(len(t.lat), max(8, int(size / step)))
            nj = min(len(t.lon), max(8, int(size / step / np.cos(np.deg2rad(t.lat.mean())))))
            i0 = rng.integers(0, len(t.lat) - ni + 1)
            j0 = rng.integers(0, len(t.lon) - nj + 1)
            ii, jj = np.arange(i0, i0 + ni), np.arange(j0, j0 + nj)
            if (t.land[np.ix_(ii, jj)] >= 0.5).mean() > 0.2:
                return t, ii, jj
        return t, ii, jj

    def sample(self, batch_size: int, generator: torch.Generator) -> Task:
        rng = np.random.default_rng(int(torch.randint(2**62, (1,), generator=generator)))
        t, ii, jj = self._box(rng)
        step = float(t.lat[1] - t.lat[0])
        # candidate cells, subsampled for large boxes
        cand_i, cand_j = np.meshgrid(ii, jj, indexing="ij")
        cand = np.stack([cand_i.ravel(), cand_j.ravel()], -1)
        if len(cand) > 5000:
            cand = cand[rng.choice(len(cand), 5000, replace=False)]
        h = t.h[cand[:, 0], cand[:, 1]]
        land = t.land[cand[:, 0], cand[:, 1]]
        relief = t.relief[cand[:, 0], cand[:, 1]]
        land_s = t.land_smooth[cand[:, 0], cand[:, 1]]
        shift = np.zeros(2)
        la0, la1 = t.lat[ii[0]], t.lat[ii[-1]]
        lo0, lo1 = t.lon[jj[0]], t.lon[jj[-1]]
        if (
            la1 >= UK_DOMAIN[0][0] - 3
            and la0 <= UK_DOMAIN[0][1] + 3
            and lo1 >= UK_DOMAIN[1][0] - 3
            and lo0 <= UK_DOMAIN[1][1] + 3
        ):
            shift[1] = 40.0
        rows = []
        for _ in range(batch_size):
            pts = np.stack([t.lat[cand[:, 0]], t.lon[cand[:, 1]]], -1)
            pts = pts + rng.uniform(-0.5, 0.5, pts.shape) * step
            values = simulate(rng, pts, h, relief, land_s)
            w = layout_weights(rng, pts, h, land)
            n_avail = int((w > 0).sum())
            n_c = min(_count(rng, *self.stations), max(3, n_avail // 2))
            n_t = min(self.max_targets, len(pts) - n_c)
            # weighted sampling without replacement: Gumbel top-k on log weights
            key = np.log(w + 1e-300) + rng.gumbel(size=len(w))
            order = np.argsort(-key)
            ctx, rest = order[:n_c], order[n_c:]
            half = n_t // 2
            t1 = rest[:half]  # the next ones of the same layout distribution
            rest2 = rest[half:]
            lw = np.where(land[rest2] >= 0.5, 0.0, np.log(0.05)) + rng.gumbel(size=len(rest2))
            t2 = rest2[np.argsort(-lw)[: n_t - len(t1)]]
            tgt = np.concatenate([t1, t2])
            noise = rng.uniform(0.2, 1.5)
            y = values + rng.normal(0.0, noise, len(values))
            rows.append(_row(pts[ctx] + shift, y[ctx], pts[tgt] + shift, y[tgt], h[ctx], h[tgt]))
        return assemble(rows)


def reanalysis_sampler(
    src: Field,
    stations: tuple[int, int] = (10, 400),
    box_deg: tuple[float, float] | None = None,
    max_targets: int = 512,
) -> CellSampler:
    """Tasks from a gridded reanalysis :class:`Field` in K and m (:mod:`.sources`): stations
    and targets are cells, each at the cell's elevation; per task a random window of
    ``box_deg`` degrees (or the whole grid), stations on land only with probability 1/2 (where
    the window has land), a log-uniform count in ``stations`` (at most half the candidates),
    at most ``max_targets`` other cells as targets."""
    return CellSampler(
        src,
        count=stations,
        log_count=True,
        window_deg=box_deg,
        land_only=True,
        land_prob=0.5,
        max_share=0.5,
        max_targets=max_targets,
        point_aux=True,
    )


class MixtureSampler:
    """Draws each batch from one source, chosen with the given weights."""

    def __init__(self, sources: Sequence[tuple[float, TaskSampler]]):
        self.weights = torch.tensor([w for w, _ in sources], dtype=torch.float64)
        self.samplers = [s for _, s in sources]

    def sample(self, batch_size: int, generator: torch.Generator) -> Task:
        k = int(torch.multinomial(self.weights, 1, generator=generator))
        return self.samplers[k].sample(batch_size, generator)


def simulated_validation_tasks(terrains: list[Terrain], n_tasks: int, seed: int) -> list[Task]:
    """Fixed simulated tasks (a seed disjoint from training draws), batch 1 each."""
    sampler = SimulatedSampler(terrains)
    gen = torch.Generator().manual_seed(seed)
    return [sampler.sample(1, gen) for _ in range(n_tasks)]
