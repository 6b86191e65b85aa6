"""A prediction request in physical units (:class:`Query`) and its checked coordinates.

:class:`Coordinates` are what every consumer of a query needs first: the stations and
targets flattened to float64, checked for equal lengths and finite values, longitudes
wrapped, and the target grid's axes when the targets form one. A query computes them once
(:attr:`Query.coordinates`), so the service's admission estimate and the prediction share
them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .coords import longitude_frame, wrap_into
from .errors import EquigridError
from .targets import grid_axes


@dataclass(frozen=True)
class Query:
    """One prediction request in physical units: stations (K) and target points.

    Arrays may have any shape; the prediction has the targets' shape. Elevations (m) may be
    ``None`` or NaN where unknown.
    """

    station_lat: ArrayLike
    station_lon: ArrayLike
    station_value_k: ArrayLike
    target_lat: ArrayLike
    target_lon: ArrayLike
    station_elevation: ArrayLike | None = None
    target_elevation: ArrayLike | None = None
    equivariant_only: bool = False

    @cached_property
    def coordinates(self) -> Coordinates:
        """Checked, flattened coordinates (longitudes wrapped); computed once per query,
        so the admission's cost estimate and the prediction share them."""
        return Coordinates.of(self)

    def with_target_elevation(self, elevation: ArrayLike | None) -> Query:
        """This query with other target elevations; what was computed from its coordinates
        (they and, per predictor, the points and lattice window) carries over."""
        q = dataclasses.replace(self, target_elevation=elevation)
        names = {f.name for f in dataclasses.fields(self)}
        q.__dict__.update({k: v for k, v in self.__dict__.items() if k not in names})
        return q


@dataclass(frozen=True)
class Coordinates:
    """A query's validated, flattened coordinates and station values; longitudes wrapped into
    one 360-degree frame that keeps the targets contiguous (:func:`~.coords.longitude_frame`)."""

    s_lat: NDArray[np.float64]
    s_lon: NDArray[np.float64]
    s_val: NDArray[np.float64]
    t_lat: NDArray[np.float64]
    t_lon: NDArray[np.float64]
    shape: tuple[int, ...]
    grid: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None

    @classmethod
    def of(cls, q: Query) -> Coordinates:
        def flat(a: ArrayLike) -> NDArray[np.float64]:
            return np.asarray(a, dtype=np.float64).ravel()

        s_lat, s_lon, s_val = flat(q.station_lat), flat(q.station_lon), flat(q.station_value_k)
        t_lat, t_lon = flat(q.target_lat), flat(q.target_lon)
        if not (len(s_lat) == len(s_lon) == len(s_val)) or len(s_lat) == 0:
            raise EquigridError("stations need equally long, non-empty lat, lon and value arrays")
        if len(t_lat) != len(t_lon) or len(t_lat) == 0:
            raise EquigridError("targets need equally long, non-empty lat and lon arrays")
        for name, arr in (("station", np.r_[s_lat, s_lon, s_val]), ("target", np.r_[t_lat, t_lon])):
            if not np.isfinite(arr).all():
                raise EquigridError(f"{name} coordinates and values must be finite")
        shape = np.shape(q.target_lat)
        west = longitude_frame(t_lon)  # targets across 180 degrees stay one region
        t_lon = wrap_into(t_lon, west)
        grid = grid_axes(shape, t_lat, t_lon)
        return cls(s_lat, wrap_into(s_lon, west), s_val, t_lat, t_lon, shape, grid)
