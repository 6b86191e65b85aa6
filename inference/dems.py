"""A set of DEMs (one file or a folder of tiles) and the cell elevations they give.

One place for every user of DEMs at targets: the service (``EQUIGRID_DEM``), batch gridding
(``equigrid grid --dem``). :meth:`Dems.load` reads a DEM file or every file with a suffix of
:data:`inference.dem.DEM_SUFFIXES` in a folder (CF netCDF or GeoTIFF, by
:func:`inference.dem.read_dem`: heights in metres on our coordinate conventions); an empty
folder is no DEM. :meth:`Dems.fill` gives elevations at any targets: each DEM that covers
some of them contributes, finest first, resampled bilinearly; targets that no DEM covers,
or where it has no value (the sea of a land-only DEM), stay unknown (NaN), so the predictor
fills them as it would without a DEM, and :meth:`Dems.note` says so. Given elevations
always win over the DEMs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from .coords import SPATIAL, wrap_longitude
from .dem import DEM_SUFFIXES, read_dem

log = logging.getLogger("equigrid.dem")
EDGE = 1e-6


@dataclass(frozen=True)
class Dem:
    """One DEM: heights ``orog(latitude, longitude)`` in m, latitude ascending."""

    name: str
    heights: xr.DataArray
    box: tuple[float, float, float, float]  # lat0, lat1, lon0, lon1
    spacing: float  # degrees (finer first)


@dataclass(frozen=True)
class Filled:
    """Target elevations (m) after the DEMs, and what they did."""

    elevation: NDArray[np.float64]  # the targets' shape, NaN where still unknown
    from_dem: int  # targets that the DEMs filled
    names: tuple[str, ...]  # the DEMs used
    given: int = 0  # targets whose elevation the caller gave (they win over the DEMs)


class Dems:
    """DEMs to fill target elevations from (possibly none)."""

    def __init__(self, dems: list[Dem]) -> None:
        self.dems = sorted(dems, key=lambda d: d.spacing)

    @classmethod
    def load(cls, path: Path | None) -> Dems:
        """Read ``path`` (a file or a folder of DEMs, possibly empty); :class:`DemError` if
        a file is missing or unusable."""
        if path is None:
            return cls([])
        files = (
            sorted(f for f in path.iterdir() if f.suffix.lower() in DEM_SUFFIXES)
            if path.is_dir()
            else [path]
        )
        if path.is_dir() and not files:
            # an empty DEM folder (a container's mount point before DEMs are added) is no DEM
            log.warning("no DEM (%s) in %s", ", ".join("*" + x for x in DEM_SUFFIXES), path)
            return cls([])
        dems = []
        for f in files:
            da = read_dem(f)
            lat, lon = da["latitude"].values, da["longitude"].values
            spacing = float(min(np.abs(np.diff(lat)).min(), np.abs(np.diff(lon)).min()))
            box = (float(lat.min()), float(lat.max()), float(lon.min()), float(lon.max()))
            dems.append(Dem(f.name, da, box, spacing))
            log.info("DEM %s: lat %g..%g, lon %g..%g, %.4f deg", f.name, *box, spacing)
        return cls(dems)

    def __bool__(self) -> bool:
        return bool(self.dems)

    def fill(
        self,
        lat: NDArray[np.float64],
        lon: NDArray[np.float64],
        given: NDArray[np.float64] | None = None,
    ) -> Filled:
        """Elevations at targets ``lat``, ``lon`` (any shape, deg): ``given`` where finite,
        else the finest covering DEM's, else NaN."""
        shape = np.shape(lat)
        elev = np.full(shape, np.nan) if given is None else np.array(given, np.float64)
        flat_lat, flat_lon = np.ravel(lat), wrap_longitude(np.ravel(lon))
        out = elev.reshape(-1)
        given_n = int(np.isfinite(out).sum())
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
        return Filled(out.reshape(shape), filled, tuple(used), given_n)

    def note(self, filled: Filled, n_targets: int, uses_elevation: bool = True) -> str | None:
        """What the DEMs did for ``n_targets`` targets (None: no DEM, or a model that takes
        no point-wise elevation: nothing to say)."""
        if not self.dems or not uses_elevation or filled.given == n_targets:
            return None  # nothing to say, or every elevation came with the request
        rest = n_targets - filled.from_dem - filled.given
        if filled.from_dem == 0:
            parts = ["no DEM covers the targets: cell elevations from the DEM were not used"]
        elif filled.given or rest:
            names, k = ", ".join(filled.names), filled.from_dem
            parts = [f"cell elevations from the DEM ({names}) for {k} of {n_targets} targets"]
        else:
            return f"cell elevations from the DEM ({', '.join(filled.names)})"
        if filled.given:
            parts.append(f"{filled.given} given in the request")
        if rest and filled.from_dem:
            parts.append(
                f"no DEM value for the other {rest}, whose elevations the model filled as "
                "without a DEM"
            )
        return "; ".join(parts)


def _bilinear(
    da: xr.DataArray, lat: NDArray[np.float64], lon: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Bilinear heights at points inside ``da`` (clipped to its edges); NaN where it has none."""
    lo_hi = {c: (float(da[c].values.min()), float(da[c].values.max())) for c in SPATIAL}
    pts = {"latitude": lat, "longitude": lon}
    idx = {c: xr.DataArray(np.clip(pts[c], *lo_hi[c]), dims="point") for c in SPATIAL}
    values: NDArray[np.float64] = da.interp(idx, method="linear").values.astype(np.float64)
    return values
