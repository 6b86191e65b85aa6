"""The one in-memory field type: one split of a store, normalised, with its static fields.

:func:`load_split` reads one split (train / val / test, or all time steps) of an opened
store into a :class:`Field`. Values are normalised in float64 and then stored as float32,
with the store's training statistics unless ``stats`` is given (the experiments fit theirs
with :meth:`~inference.normalisation.Stats.fit`; the US snapshot uses the UK statistics).
Orography and land fraction stay raw (m, 1); :meth:`Field.cell_elevation` and
:meth:`Field.elevation` give the normalised point-wise elevation input at grid cells and at
arbitrary points (bilinear).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
import xarray as xr
from numpy.typing import NDArray
from torch import Tensor

from inference.errors import StoreError
from inference.normalisation import Stats

from ..data.store import SPLITS


@dataclass(frozen=True)
class Field:
    """t2m ``values: [time, lat, lon]`` normalised; ``lat``/``lon``: ``[n]`` ascending degrees;
    ``orog`` and ``land``: ``[lat, lon]`` raw (m, 1) or None; ``stats``: ``t2m`` and, with
    orography, ``elevation``."""

    values: Tensor
    lat: Tensor
    lon: Tensor
    times: NDArray[np.datetime64]
    stats: dict[str, Stats]
    orog: Tensor | None = None
    land: Tensor | None = None

    @property
    def points(self) -> Tensor:
        """Every cell's (lat, lon), row-major: ``[n_cells, 2]``."""
        la, lo = torch.meshgrid(self.lat, self.lon, indexing="ij")
        return torch.stack([la.reshape(-1), lo.reshape(-1)], dim=-1)

    @property
    def n_cells(self) -> int:
        return int(self.lat.numel() * self.lon.numel())

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.lat), len(self.lon)

    def select(self, times: NDArray[np.integer] | list[int]) -> Field:
        """The field at the given time indices."""
        idx = torch.as_tensor(np.asarray(times))
        return replace(self, values=self.values[idx], times=self.times[np.asarray(times)])

    def _orography(self) -> Tensor:
        if self.orog is None or "elevation" not in self.stats:
            raise StoreError("the store has no orography (needed for point elevation)")
        return self.orog

    def cell_elevation(self) -> Tensor:
        """Normalised orography at every cell: ``[lat, lon]`` (float64 arithmetic)."""
        orog = self._orography().double().numpy()
        return torch.as_tensor(self.stats["elevation"].normalise(orog), dtype=torch.float32)

    def elevation(self, pts: Tensor) -> Tensor:
        """Normalised orography at ``[n, 2]`` points (bilinear): ``[n, 1]``."""
        raw = bilinear(self._orography(), self.lat, self.lon, pts)
        return self.stats["elevation"].normalise(raw)[:, None]


def load_split(ds: xr.Dataset, split: str | None, stats: Stats | None = None) -> Field:
    """Read split ``split`` (train / val / test; None: every time step) of an opened store.

    ``stats`` replaces the store's t2m statistics for normalisation.
    """
    if split is None:
        sel = np.ones(ds.sizes["time"], dtype=bool)
    elif split not in SPLITS:
        raise StoreError(f"unknown split {split!r}; known: {sorted(SPLITS)}")
    else:
        sel = ds["split"].values == SPLITS[split]
    if not sel.any():
        raise StoreError(f"the store has no time steps in split {split!r}")
    t2m = stats or Stats(float(ds.attrs["t2m_mean"]), float(ds.attrs["t2m_std"]))
    norm = {"t2m": t2m}
    raw = ds["t2m"].values[sel].astype(np.float64)
    if not np.isfinite(raw).all():
        raise StoreError(f"t2m has missing values in split {split!r}")
    orog = land = None
    if "orog" in ds:
        orog = torch.tensor(ds["orog"].values, dtype=torch.float32)
        mean = float(ds.attrs.get("orog_mean", float(orog.mean())))
        std = float(ds.attrs.get("orog_std", float(orog.std())))
        norm["elevation"] = Stats(mean, std)
    if "land_fraction" in ds:
        land = torch.tensor(ds["land_fraction"].values, dtype=torch.float32)
    return Field(
        values=torch.as_tensor(t2m.normalise(raw), dtype=torch.float32),
        lat=torch.tensor(ds["latitude"].values, dtype=torch.float32),
        lon=torch.tensor(ds["longitude"].values, dtype=torch.float32),
        times=ds["time"].values[sel],
        stats=norm,
        orog=orog,
        land=land,
    )


def bilinear(grid: Tensor, lat: Tensor, lon: Tensor, pts: Tensor) -> Tensor:
    """Bilinear interpolation of ``grid [..., n_lat, n_lon]`` at ``pts [n, 2]`` -> ``[..., n]``.

    Points must lie inside the grid (regular, ascending axes). This is the tensor
    counterpart of :func:`inference.dem.resample_points`, for sampling in training loops.
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
