"""Target elevations from the DEMs the service is pointed at (``EQUIGRID_DEM``).

``EQUIGRID_DEM`` names a DEM file or a directory of them (CF netCDF or GeoTIFF, read by
:func:`inference.dem.read_dem`; every file with a suffix of
:data:`inference.dem.DEM_SUFFIXES` in a directory). They are read once at
start-up. For a request's targets, each DEM that covers some of them contributes, finest
first, resampled bilinearly; cells that no DEM covers, or where it has no value (the sea of
a land-only DEM), stay unknown, so the predictor fills them as it would without a DEM and
the response says so. Elevations given in the request always win over the DEM.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from inference.coords import SPATIAL, wrap_longitude
from inference.dem import DEM_SUFFIXES, read_dem

log = logging.getLogger("equigrid.service")
EDGE = 1e-6


@dataclass(frozen=True)
class _Dem:
    name: str
    heights: xr.DataArray  # orog(latitude, longitude), latitude ascending
    box: tuple[float, float, float, float]  # lat0, lat1, lon0, lon1
    spacing: float  # degrees (finer first)


@dataclass(frozen=True)
class Filled:
    """Target elevations after the DEMs, and what they did."""

    elevation: NDArray[np.float64]  # the targets' shape, NaN where still unknown
    from_dem: int  # cells that the DEMs filled
    names: tuple[str, ...]  # the DEMs used


class Dems:
    """The service's DEMs (possibly none)."""

    def __init__(self, dems: list[_Dem]) -> None:
        self.dems = sorted(dems, key=lambda d: d.spacing)

    @classmethod
    def load(cls, path: Path | None) -> Dems:
        """Read ``path`` (a file or a directory of DEMs, possibly empty); :class:`DemError`
        if a file is missing or unusable."""
        if path is None:
            return cls([])
        files = (
            sorted(f for f in path.iterdir() if f.suffix.lower() in DEM_SUFFIXES)
            if path.is_dir()
            else [path]
        )
        if path.is_dir() and not files:
            # an empty DEM folder (a container's mount point before DEMs are added) is no DEM:
            # every response then says that cell elevations from a DEM were not used
            log.warning("no DEM (%s) in %s", ", ".join("*" + x for x in DEM_SUFFIXES), path)
            return cls([])
        dems = []
        for f in files:
            da = read_dem(f)
            lat, lon = da["latitude"].values, da["longitude"].values
            spacing = float(min(np.abs(np.diff(lat)).min(), np.abs(np.diff(lon)).min()))
            box = (float(lat.min()), float(lat.max()), float(lon.min()), float(lon.max()))
            dems.append(_Dem(f.name, da, box, spacing))
            log.info("DEM %s: lat %g..%g, lon %g..%g, %.4f deg", f.name, *box, spacing)
        return cls(dems)

    def __bool__(self) -> bool:
        return bool(self.dems)

    def fill(
        self,
        lat: NDArray[np.float64],
        lon: NDArray[np.float64],
        given: NDArray[np.float64] | None,
    ) -> Filled:
        """Elevations at targets ``lat``, ``lon`` (any shape): ``given`` where finite, else
        the finest covering DEM's, else NaN."""
        shape = np.shape(lat)
        elev = np.full(shape, np.nan) if given is None else np.array(given, np.float64)
        flat_lat, flat_lon = np.ravel(lat), wrap_longitude(np.ravel(lon))
        out = elev.reshape(-1)
        used, filled = [], 0
        for d in self.dems:
            todo = ~np.isfinite(out)
            if not todo.any():
                break
            la0, la1, lo0, lo1 = d.box
            inside = (
                todo
                & (flat_lat >= la0 - EDGE)
                & (flat_lat <= la1 + EDGE)
                & (flat_lon >= lo0 - EDGE)
                & (flat_lon <= lo1 + EDGE)
            )
            if not inside.any():
                continue
            values = _bilinear(d.heights, flat_lat[inside], flat_lon[inside])
            ok = np.isfinite(values)  # a DEM may have no value over the sea
            if not ok.any():
                continue
            where = np.flatnonzero(inside)[ok]
            out[where] = values[ok]
            used.append(d.name)
            filled += int(ok.sum())
        return Filled(out.reshape(shape), filled, tuple(used))

    def note(self, filled: Filled, n_targets: int, has_point_elevation: bool) -> str | None:
        """What the DEMs did for a request, for its notes (None: nothing to say)."""
        if not has_point_elevation or not self.dems:
            return None
        if filled.from_dem == 0:
            return (
                "no DEM of the service covers the targets: cell elevations from the DEM were "
                "not used"
            )
        names = ", ".join(filled.names)
        if filled.from_dem < n_targets:
            part = f" for {filled.from_dem} of {n_targets} targets"
            return f"cell elevations from the DEM ({names}){part}"
        return f"cell elevations from the DEM ({names})"


def _bilinear(
    da: xr.DataArray, lat: NDArray[np.float64], lon: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Bilinear heights at points inside ``da`` (clipped to its edges); NaN where it has none."""
    lo_hi = {c: (float(da[c].values.min()), float(da[c].values.max())) for c in SPATIAL}
    pts = {"latitude": lat, "longitude": lon}
    idx = {c: xr.DataArray(np.clip(pts[c], *lo_hi[c]), dims="point") for c in SPATIAL}
    values: NDArray[np.float64] = da.interp(idx, method="linear").values.astype(np.float64)
    return values
