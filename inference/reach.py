"""How far the stations of a request reach: the one rule for "stations far from the targets".

:func:`reach_deg` is how far (degrees, in latitude and longitude) a station can inform a
target through the model's convolutional part: the CNN's receptive radius on its lattice
plus three set-conv length-scales (encoder and decoder), as the model itself defines it
(:meth:`models.convcnp.ConvCNP.reach`). The service notes targets that no
station reaches (:func:`uninformed`), and batch gridding uses the same reach to decide which
stations are near enough to a grid to be used and whether a grid has no station near it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from .bundle import Bundle
from .coords import longitude_frame, wrap_into


def reach_deg(bundle: Bundle) -> float | None:
    """How far (deg, in latitude and longitude) a station can inform a target, or None
    (:meth:`models.convcnp.ConvCNP.reach`; the trend's position slopes stop there too)."""
    reach = getattr(bundle.model, "reach", None)
    return float(reach()) if callable(reach) else None


def uninformed(
    s_lat: NDArray[np.float64],
    s_lon: NDArray[np.float64],
    t_lat: NDArray[np.float64],
    t_lon: NDArray[np.float64],
    grid: tuple[NDArray[np.float64], NDArray[np.float64]] | None,
    reach: float,
) -> NDArray[np.bool_]:
    """Targets with no station within ``reach`` deg in both latitude and longitude (in the
    longitude frame that keeps the targets contiguous, so across 180 degrees too)."""
    west = longitude_frame(t_lon if grid is None else grid[1])
    s_lon = wrap_into(s_lon, west)
    if grid is not None:  # O(stations + cells): a 2-D difference array of station boxes
        lat, lon = grid[0], wrap_into(grid[1], west)
        order = np.argsort(lon)
        lon_sorted = lon[order]
        r0 = np.searchsorted(lat, s_lat - reach, "left")
        r1 = np.searchsorted(lat, s_lat + reach, "right")
        c0 = np.searchsorted(lon_sorted, s_lon - reach, "left")
        c1 = np.searchsorted(lon_sorted, s_lon + reach, "right")
        diff = np.zeros((len(lat) + 1, len(lon) + 1), np.int64)
        np.add.at(diff, (r0, c0), 1)
        np.add.at(diff, (r1, c0), -1)
        np.add.at(diff, (r0, c1), -1)
        np.add.at(diff, (r1, c1), 1)
        counts = diff.cumsum(0).cumsum(1)[: len(lat), : len(lon)]
        near = np.empty_like(counts)
        near[:, order] = counts
        out: NDArray[np.bool_] = (near == 0).ravel()
        return out
    t_lon = wrap_into(t_lon, west)
    tree = cKDTree(np.stack([s_lat, s_lon], -1))
    dist, _ = tree.query(np.stack([t_lat.ravel(), t_lon.ravel()], -1), k=1, p=np.inf)
    return np.asarray(dist > reach)
