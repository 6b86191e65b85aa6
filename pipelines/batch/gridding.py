"""Batch gridding: validated stations per time step -> one CF-1.10 netCDF of mean and variance.

Every time step goes through the one prediction path (:class:`inference.predictor.Predictor`)
and is written into a temporary file (:func:`inference.files.atomic_path`, ``0644``) that is
moved into place only when complete, so memory stays flat over long records and an existing
output is never clobbered by a failed run.
"""

from __future__ import annotations

import time as clock
from collections.abc import Iterable
from pathlib import Path

import netCDF4
import numpy as np
import pandas as pd

from inference.bundle import Bundle
from inference.cf import CONVENTIONS, coordinate_attrs, variable_attrs
from inference.errors import StationError
from inference.files import atomic_path
from inference.predictor import Predictor, Query
from inference.stations import Stations
from inference.targets import TargetGrid
from inference.units import TemperatureUnit, from_kelvin

TIME_UNITS = "hours since 1970-01-01 00:00:00"


def grid_record(
    bundle: Bundle,
    predictor: Predictor,
    sets: Iterable[Stations],
    grid: TargetGrid,
    out: Path,
    units: TemperatureUnit = TemperatureUnit.K,
    equivariant_only: bool = False,
) -> list[dict[str, object]]:
    """Grid each station set and write ``tas``/``tas_variance`` (time, lat, lon) to ``out``.

    Returns one summary row per time step. The output appears only when every step is done.
    """
    rows: list[dict[str, object]] = []
    with atomic_path(out) as tmp, netCDF4.Dataset(tmp, "w", format="NETCDF4") as nc:
        nc.Conventions = CONVENTIONS
        nc.title = "equigrid gridded near-surface air temperature"
        nc.source = f"equigrid model {bundle.name} {bundle.version} sha256:{bundle.sha256}"
        nc.history = f"{pd.Timestamp.now('UTC'):%Y-%m-%dT%H:%M:%SZ} equigrid grid"
        nc.createDimension("time", None)
        nc.createDimension("lat", grid.shape[0])
        nc.createDimension("lon", grid.shape[1])
        attrs = coordinate_attrs()
        for name, values in (("lat", grid.lat), ("lon", grid.lon)):
            v = nc.createVariable(name, "f8", (name,))
            v.setncatts(attrs[name])
            v[:] = values
        tv = nc.createVariable("time", "f8", ("time",))
        tv.setncatts({"standard_name": "time", "units": TIME_UNITS, "calendar": "standard"})
        va = variable_attrs(units)
        fields = {}
        for name in ("tas", "tas_variance"):
            fields[name] = nc.createVariable(
                name,
                "f4",
                ("time", "lat", "lon"),
                zlib=True,
                chunksizes=(1, *grid.shape),
                fill_value=np.float32(np.nan),
            )
            fields[name].setncatts(va[name])
        tas, tvar = fields["tas"], fields["tas_variance"]
        nst = nc.createVariable("n_stations", "i4", ("time",))
        nst.long_name = "stations used"
        dom = nc.createVariable("in_domain", "i1", ("lat", "lon"))
        dom.setncatts(va["in_domain"])
        la, lo = grid.mesh()
        for i, s in enumerate(sets):
            t0 = clock.perf_counter()
            p = predictor.predict(
                Query(
                    s.lat,
                    s.lon,
                    s.value_k,
                    la,
                    lo,
                    station_elevation=s.elevation_m,
                    equivariant_only=equivariant_only,
                )
            )
            if i == 0:
                dom[:] = p.in_domain.astype(np.int8)
            hours = 0.0 if s.time is None else (s.time - pd.Timestamp(0)) / pd.Timedelta(hours=1)
            tv[i] = hours
            tas[i] = from_kelvin(p.mean, units).astype(np.float32)
            tvar[i] = p.variance.astype(np.float32)
            nst[i] = len(s.lat)
            rows.append(
                {
                    "time": "-" if s.time is None else f"{s.time:%Y-%m-%d %H:%M}",
                    "stations": len(s.lat),
                    "merged": s.merged,
                    "mean": float(np.mean(from_kelvin(p.mean, units))),
                    "std": float(np.mean(np.sqrt(p.variance))),
                    "ms": 1000 * (clock.perf_counter() - t0),
                }
            )
        if not rows:
            raise StationError("no time step with stations to grid")
    return rows
