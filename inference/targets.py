"""Target grids: where predictions are wanted, as a regular or irregular lat/lon grid.

:class:`TargetGrid` is the one target-grid type of batch gridding, the API and CF output.
:func:`check_bbox` and :func:`check_axes` are the rules of a grid specification, used by
the constructors here and by the API schema before anything is allocated;
:func:`bbox_counts` sizes a bbox grid without overflow (the command line's ``W,S,E,N``
text is read by :mod:`cli.options`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .coords import LAT_RANGE, lat_ok
from .errors import GridError

MAX_LON_SPAN = 360.0


def bbox_counts(
    west: float, south: float, east: float, north: float, resolution: float
) -> tuple[float, float]:
    """Rows and columns of a bbox grid, as floats so huge requests cannot overflow."""
    return (
        float(np.floor((north - south) / resolution + 1e-9) + 1),
        float(np.floor((east - west) / resolution + 1e-9) + 1),
    )


def check_bbox(west: float, south: float, east: float, north: float, resolution: float) -> None:
    """Raise :class:`GridError` unless ``W,S,E,N`` and ``resolution`` describe a grid."""
    if not all(np.isfinite([west, south, east, north, resolution])):
        raise GridError("bbox and resolution must be finite")
    if resolution <= 0:
        raise GridError("resolution_deg must be positive")
    if west >= east:
        raise GridError(f"bbox west ({west}) must be less than east ({east})")
    if south >= north:
        raise GridError(f"bbox south ({south}) must be less than north ({north})")
    if not lat_ok([south, north]).all():
        raise GridError(f"bbox latitudes must lie in [{LAT_RANGE[0]:g}, {LAT_RANGE[1]:g}]")
    if east - west > MAX_LON_SPAN:
        raise GridError(f"bbox spans more than {MAX_LON_SPAN:g} degrees of longitude")


def check_axes(lat: Sequence[float], lon: Sequence[float]) -> None:
    """Raise :class:`GridError` unless ``lat``/``lon`` are non-empty, finite, increasing axes."""
    for name, axis in (("lat", lat), ("lon", lon)):
        a = np.asarray(axis, dtype=np.float64)
        if a.ndim != 1 or a.size == 0:
            raise GridError(f"grid.{name} must be a non-empty list")
        if not np.isfinite(a).all():
            raise GridError(f"grid.{name} must be finite")
        if any(b <= x for x, b in itertools.pairwise(a.tolist())):
            raise GridError(f"grid.{name} must be strictly increasing")
    if not lat_ok(lat).all():
        raise GridError(f"grid.lat must lie in [{LAT_RANGE[0]:g}, {LAT_RANGE[1]:g}]")


@dataclass(frozen=True)
class TargetGrid:
    """A regular or irregular lat/lon target grid (both axes ascending, degrees)."""

    lat: NDArray[np.float64]
    lon: NDArray[np.float64]

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.lat), len(self.lon)

    @property
    def size(self) -> int:
        return len(self.lat) * len(self.lon)

    def mesh(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``(lat, lon)`` arrays of shape ``[n_lat, n_lon]``."""
        la, lo = np.meshgrid(self.lat, self.lon, indexing="ij")
        return la, lo

    @classmethod
    def from_bbox(
        cls, west: float, south: float, east: float, north: float, resolution: float
    ) -> TargetGrid:
        check_bbox(west, south, east, north, resolution)
        n_lat, n_lon = (int(n) for n in bbox_counts(west, south, east, north, resolution))
        lat = np.round(south + resolution * np.arange(n_lat, dtype=np.float64), 9)
        lon = np.round(west + resolution * np.arange(n_lon, dtype=np.float64), 9)
        return cls(lat, lon)

    @classmethod
    def from_axes(cls, lat: ArrayLike, lon: ArrayLike) -> TargetGrid:
        la, lo = np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
        check_axes(la.tolist() if la.ndim == 1 else [], lo.tolist() if lo.ndim == 1 else [])
        return cls(la, lo)


def grid_axes(
    shape: tuple[int, ...], lat: NDArray[np.float64], lon: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """``(lat axis, lon axis)`` when flattened targets of ``shape == [n_lat, n_lon]`` form a
    rectilinear grid (``meshgrid(lat, lon, indexing="ij")``), else None."""
    if len(shape) != 2 or min(shape) < 2:
        return None
    la, lo = lat.reshape(shape), lon.reshape(shape)
    if not ((la == la[:, :1]).all() and (lo == lo[:1, :]).all()):
        return None
    return la[:, 0].copy(), lo[0].copy()
