"""Simulated 2 m temperature over real terrain: the physics of the ``simulated`` source.

A field (:func:`simulate`) is a large-scale smooth field (1-8 deg, 0.3-6 K: polar to
tropical variability), a vertical profile whose lapse rate varies in space (about -10 to
+3 K/km) with, in a third of the fields, an inversion (+0 to +6 K/km) below a height that
varies in space, cold-air pooling in valleys (temperature on local relief), a land-sea
contrast (smoothed land fraction), mesoscale detail and a random offset of +-25 K (harmless
by the model's shift equivariance). :func:`layout_weights` makes station layouts clustered
like real networks (land, valley floors, towns). Terrain comes from the DEM files in
``../shared/data``, read by the one DEM reader (:func:`read_terrain` on
:func:`inference.dem.read_dem`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr
from numpy.typing import NDArray
from scipy.ndimage import gaussian_filter

from inference.coords import SPATIAL, rename_coords
from inference.dem import read_dem

Array = NDArray[np.float64]


@dataclass
class Terrain:
    """A fine DEM: ascending axes, heights (m, sea 0), land fraction, local relief (m)."""

    name: str
    lat: Array
    lon: Array
    h: Array
    land: Array
    relief: Array = field(init=False)

    def __post_init__(self) -> None:
        step_km = 111.0 * float(self.lat[1] - self.lat[0])
        sigma = max(1.0, 15.0 / step_km)  # ~15 km smoothing scale
        self.relief = self.h - gaussian_filter(self.h, sigma, mode="nearest")
        self.land_smooth = gaussian_filter(self.land, 2.0 * sigma, mode="nearest")


def read_terrain(path: Path, name: str) -> Terrain:
    """A DEM file as :class:`Terrain`: heights by the one DEM reader
    (:func:`inference.dem.read_dem`: any of its height names and units, in m, on our
    coordinate conventions; the sea, NaN there, at 0 m here) and the land fraction of a
    ``land_fraction`` variable on the same cells, else where the DEM has heights."""
    orog = read_dem(path)
    h = orog.values.astype(np.float64)
    with xr.open_dataset(path) as ds:
        if "land_fraction" in ds:
            frac = rename_coords(ds, keep=SPATIAL)["land_fraction"]
            land = frac.sortby(list(SPATIAL)).interp_like(orog, method="nearest").values
        else:
            land = np.isfinite(h)
    h = np.where(np.isfinite(h), np.maximum(h, 0.0), 0.0)
    return Terrain(
        name,
        orog["latitude"].values.astype(np.float64),
        orog["longitude"].values.astype(np.float64),
        h,
        np.asarray(land, np.float64),
    )


def smooth_field(rng: np.random.Generator, pts: Array, length: float, k: int = 64) -> Array:
    """A unit-variance smooth random field (random Fourier features of an RBF kernel with
    length-scale ``length`` deg; longitude scaled by cos(lat)) at ``pts [n, 2]``."""
    scale = np.array([1.0, np.cos(np.deg2rad(np.mean(pts[:, 0])))])
    w = rng.normal(0.0, 1.0 / length, (k, 2))
    phase = rng.uniform(0, 2 * np.pi, k)
    a = rng.normal(0.0, 1.0, k)
    return np.sqrt(2.0 / k) * np.cos((pts * scale) @ w.T + phase) @ a


def layout_weights(rng: np.random.Generator, pts: Array, h: Array, land: Array) -> Array:
    """Sampling weights of candidate cells: land, valley floors, towns (clusters)."""
    w = np.where(land >= 0.5, 1.0, 0.02) if (land >= 0.5).any() else np.ones(len(pts))
    alpha, s = rng.uniform(0, 6), rng.uniform(150, 900)
    w = w * (1.0 + alpha * np.exp(-(h - h.min()) / s))
    for _ in range(rng.integers(0, 6)):
        c = pts[rng.integers(len(pts))]
        r = rng.uniform(0.05, 0.4)
        w = w * (1.0 + rng.uniform(2, 20) * np.exp(-((pts - c) ** 2).sum(-1) / (2 * r * r)))
    return w / w.sum()


def simulate(rng: np.random.Generator, pts: Array, h: Array, relief: Array, land_s: Array) -> Array:
    """One simulated temperature field (K, offset included, no noise) at ``pts``."""
    n = len(pts)
    big = rng.uniform(0.3, 6.0) * smooth_field(rng, pts, rng.uniform(1.0, 8.0))
    meso = rng.uniform(0.0, 1.0) * smooth_field(rng, pts, rng.uniform(0.08, 0.5))
    regime = rng.uniform()
    if regime < 0.35:  # inversion below a height that varies in space
        above, below = rng.uniform(-9.0, -3.0), rng.uniform(0.0, 6.0)
    elif regime < 0.45:  # weak lapse / isothermal / weak overall inversion
        above = below = rng.uniform(-2.0, 3.0)
    else:
        above = below = rng.uniform(-10.0, -2.0)
    above_x = above + rng.uniform(0.0, 1.5) * smooth_field(rng, pts, rng.uniform(1.0, 5.0))
    base = np.quantile(h, rng.uniform(0.05, 0.7)) if n else 0.0
    top = base + rng.uniform(0, 250) * smooth_field(rng, pts, rng.uniform(0.5, 3.0))
    dz = (h - top) / 1000.0
    vertical = np.where(dz >= 0, above_x * dz, below * dz)
    pool = rng.uniform(0, 8.0) * relief / 1000.0 if rng.uniform() < 0.5 else 0.0
    landsea = rng.normal(0.0, 2.5) * land_s
    offset = rng.uniform(-25.0, 25.0) + 273.15
    return offset + big + meso + vertical + pool + landsea
