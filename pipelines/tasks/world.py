"""Training tasks for a model of real station networks anywhere: a mixture of sources.

Every task is one set of "stations" (context) and targets, in physical units: positions
(lat, lon) in degrees, values in K, elevations in m -- each point at its *own* elevation, as
in use. Sources (all read from ``../shared/data``; :func:`load_sources`):

- ``simulated``: physically plausible fields over the real terrain files (Alps, Europe, UK
  at 0.1 deg, Colorado at 1 arc-minute, CONUS PRISM at 2.5 arc-minute; :mod:`.simulate`),
  with stations and targets at fine-DEM positions and the fine DEM's height, clustered
  layouts of 10-1000 stations and iid station noise of 0.2-1.5 K.
- ``era5_uk``: ERA5 2 m temperature over the UK, March 2019, **days 1-21 only** (22-24 are the
  validation days, 25-31 the test week); stations and targets are grid cells with the
  orography of the cell; no noise.
- ``era5_conus``: the one ERA5 snapshot over the contiguous US (1995-07-14 12 UTC), cells
  with the PRISM DEM averaged to the cell; random sub-boxes; no noise.

Boxes that overlap the fixed inputs' domain (the UK box) are translated 40 deg east for
simulated fields, so the fixed inputs learn only from real UK data (translation is
harmless to the equivariant component). The real station files are never read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import xarray as xr
from numpy.typing import NDArray
from scipy.ndimage import gaussian_filter

from inference.padding import pad_repeat

from .simulate import Terrain, layout_weights, read_terrain, simulate
from .task import Task

Array = NDArray[np.float64]
UK_DOMAIN = ((50.0, 58.0), (-10.0, 2.0))
UK_TRAIN_DAYS = (1, 21)
UK_VAL_DAYS = (22, 24)
SIM_FILES = {
    "alps": "orog_alps_0p1.nc",
    "europe": "orog_europe_0p1.nc",
    "uk": "orog_uk_0p1.nc",
    "colorado": "dem_colorado_1arcmin.nc",
    "conus": "dem_conus_prism_2p5arcmin.nc",
}


@dataclass
class GridField:
    """A gridded reanalysis source: t2m ``[time, lat, lon]`` (K), cell elevation (m), land."""

    name: str
    lat: Array
    lon: Array
    t2m: Array
    h: Array
    land: Array


def read_era5_uk(data_dir: Path, days: tuple[int, int]) -> GridField:
    ds = xr.open_dataset(data_dir / "era5_t2m_uk_2019-03_hourly.nc")
    orog = xr.open_dataset(data_dir / "orog_uk_era5grid_0p25.nc")
    day = ds["time"].dt.day.values
    sel = (day >= days[0]) & (day <= days[1])
    return GridField(
        "era5_uk",
        ds["latitude"].values.astype(np.float64),
        ds["longitude"].values.astype(np.float64),
        ds["t2m"].values[sel].astype(np.float64),
        orog["orog"].values.astype(np.float64),
        orog["land_fraction"].values.astype(np.float64),
    )


def read_era5_conus(data_dir: Path, dem: Terrain) -> GridField:
    ds = xr.open_dataset(data_dir / "era5_conus_1995-07-14T12.nc")
    lat, lon = ds["latitude"].values.astype(np.float64), ds["longitude"].values.astype(np.float64)
    # PRISM averaged to the 0.25 deg cell (Gaussian, sigma = 1/8 deg), sea = 0
    step = float(dem.lat[1] - dem.lat[0])
    smooth = gaussian_filter(dem.h, 0.125 / step, mode="nearest")
    land = gaussian_filter(dem.land, 0.125 / step, mode="nearest")
    ii = np.clip(np.round((lat - dem.lat[0]) / step).astype(int), 0, len(dem.lat) - 1)
    jj = np.clip(np.round((lon - dem.lon[0]) / step).astype(int), 0, len(dem.lon) - 1)
    return GridField(
        "era5_conus",
        lat,
        lon,
        ds["t2m"].values.astype(np.float64),
        smooth[np.ix_(ii, jj)],
        land[np.ix_(ii, jj)],
    )


# ------------------------------------------------------------------------ samplers


Row = tuple[torch.Tensor, ...]  # xc, yc, xt, yt, ec, et


def _row(xc: Array, yc: Array, xt: Array, yt: Array, ec: Array, et: Array) -> Row:
    def t(a: Array) -> torch.Tensor:
        return torch.tensor(a, dtype=torch.float32)

    return t(xc), t(yc)[:, None], t(xt), t(yt)[:, None], t(ec)[:, None], t(et)[:, None]


def assemble(rows: list[Row]) -> Task:
    """Pad ``(xc, yc, xt, yt, ec, et)`` rows into one :class:`Task` (elevations as aux)."""
    xc, mask_c = pad_repeat([r[0] for r in rows])
    yc, _ = pad_repeat([r[1] for r in rows])
    xt, mask_t = pad_repeat([r[2] for r in rows])
    yt, _ = pad_repeat([r[3] for r in rows])
    ec, _ = pad_repeat([r[4] for r in rows])
    et, _ = pad_repeat([r[5] for r in rows])
    return Task(
        xc,
        yc,
        xt,
        yt,
        mask_c=None if bool(mask_c.all()) else mask_c,
        mask_t=None if bool(mask_t.all()) else mask_t,
        aux_c=ec,
        aux_t=et,
    )


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


class GridSampler:
    """Tasks from a gridded reanalysis: stations and targets are cells, each at the cell's
    elevation; a random sub-box per batch (or the whole grid)."""

    def __init__(
        self,
        src: GridField,
        stations: tuple[int, int] = (10, 400),
        max_targets: int = 512,
        box_deg: tuple[float, float] | None = None,
    ):
        self.src, self.stations, self.max_targets, self.box_deg = (
            src,
            stations,
            max_targets,
            box_deg,
        )

    def sample(self, batch_size: int, generator: torch.Generator) -> Task:
        rng = np.random.default_rng(int(torch.randint(2**62, (1,), generator=generator)))
        s = self.src
        ii, jj = np.arange(len(s.lat)), np.arange(len(s.lon))
        if self.box_deg is not None:
            size = rng.uniform(*self.box_deg)
            ni, nj = min(len(ii), int(size / 0.25)), min(len(jj), int(size / 0.25 / 0.7))
            i0, j0 = rng.integers(0, len(ii) - ni + 1), rng.integers(0, len(jj) - nj + 1)
            ii, jj = ii[i0 : i0 + ni], jj[j0 : j0 + nj]
        mesh_i, mesh_j = np.meshgrid(ii, jj, indexing="ij")
        gi, gj = mesh_i.ravel(), mesh_j.ravel()
        land_ok = s.land[gi, gj] >= 0.5
        pts = np.stack([s.lat[gi], s.lon[gj]], -1)
        h = s.h[gi, gj]
        rows = []
        for _ in range(batch_size):
            field_ = s.t2m[rng.integers(len(s.t2m))][gi, gj]
            cand = (
                np.nonzero(land_ok)[0]
                if land_ok.sum() > 20 and rng.uniform() < 0.5
                else np.arange(len(pts))
            )
            n_c = min(_count(rng, *self.stations), len(cand) // 2)
            ctx = rng.choice(cand, n_c, replace=False)
            rest = np.setdiff1d(np.arange(len(pts)), ctx)
            tgt = rng.choice(rest, min(self.max_targets, len(rest)), replace=False)
            rows.append(_row(pts[ctx], field_[ctx], pts[tgt], field_[tgt], h[ctx], h[tgt]))
        return assemble(rows)


class MixtureSampler:
    """Draws each batch from one source, chosen with the given weights."""

    def __init__(self, sources: list[tuple[float, object]]):
        self.weights = torch.tensor([w for w, _ in sources], dtype=torch.float64)
        self.samplers = [s for _, s in sources]

    def sample(self, batch_size: int, generator: torch.Generator) -> Task:
        k = int(torch.multinomial(self.weights, 1, generator=generator))
        return self.samplers[k].sample(batch_size, generator)  # type: ignore[attr-defined]


def load_terrains(data_dir: Path, names: list[str]) -> list[Terrain]:
    return [read_terrain(data_dir / SIM_FILES[n], n) for n in names]


def uk_validation_tasks(data_dir: Path, stations: list[int], per_n: int, seed: int) -> list[Task]:
    """Fixed validation tasks on the UK validation days (22-24): per task one hour, N random
    cells as stations, every other cell a target."""
    src = read_era5_uk(data_dir, UK_VAL_DAYS)
    rng = np.random.default_rng(seed)
    mesh_i, mesh_j = np.meshgrid(np.arange(len(src.lat)), np.arange(len(src.lon)), indexing="ij")
    gi, gj = mesh_i.ravel(), mesh_j.ravel()
    pts = np.stack([src.lat[gi], src.lon[gj]], -1)
    h = src.h[gi, gj]
    tasks = []
    for n in stations:
        for hour in rng.choice(len(src.t2m), per_n, replace=False):
            f = src.t2m[hour][gi, gj]
            perm = rng.permutation(len(pts))
            c, t = perm[:n], perm[n:]
            tasks.append(assemble([_row(pts[c], f[c], pts[t], f[t], h[c], h[t])]))
    return tasks


def simulated_validation_tasks(terrains: list[Terrain], n_tasks: int, seed: int) -> list[Task]:
    """Fixed simulated tasks (a seed disjoint from training draws), batch 1 each."""
    sampler = SimulatedSampler(terrains)
    gen = torch.Generator().manual_seed(seed)
    return [sampler.sample(1, gen) for _ in range(n_tasks)]
