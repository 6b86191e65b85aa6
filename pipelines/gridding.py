"""Batch gridding: a station record in, a CF netCDF of gridded mean and variance out.

``equigrid grid STATIONS.csv --out grid.nc --bbox W,S,E,N --resolution 0.1`` grids every time
step of a station table with a model bundle (the shipped default unless ``--model``).
Time steps are written one at a time into a temporary file that is moved into place only when
complete, so memory stays flat over long records and an existing output is never clobbered
by a failed run. ``equigrid grid --demo`` grids synthetic stations, so the command runs on a
machine with no data at all.
"""

from __future__ import annotations

import os
import tempfile
import time as clock
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import netCDF4
import numpy as np
import pandas as pd
import typer

from .bundle import Bundle, BundleError, load_bundle
from .cf import UNITS, GridError, GridSpec, coordinate_attrs, from_kelvin, variable_attrs
from .stations import StationError, StationSet, by_time, read_stations

TIME_UNITS = "hours since 1970-01-01 00:00:00"


def grid_record(
    bundle: Bundle,
    sets: Iterable[StationSet],
    grid: GridSpec,
    out: Path,
    units: str = "K",
    equivariant_only: bool = False,
) -> list[dict[str, object]]:
    """Grid each station set and write ``tas``/``tas_variance`` (time, lat, lon) to ``out``.

    Returns one summary row per time step. The output appears only when every step is done.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    rows: list[dict[str, object]] = []
    try:
        with netCDF4.Dataset(tmp, "w", format="NETCDF4") as nc:
            nc.Conventions = "CF-1.10"
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
                p = bundle.predict(
                    s.lat,
                    s.lon,
                    s.value_k,
                    la,
                    lo,
                    station_elevation=s.elevation,
                    equivariant_only=equivariant_only,
                )
                if i == 0:
                    dom[:] = p.in_domain.astype(np.int8)
                hours = (
                    0.0 if s.time is None else (s.time - pd.Timestamp(0)) / pd.Timedelta(hours=1)
                )
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
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return rows


def demo_stations(bundle: Bundle, n: int = 150, steps: int = 3, seed: int = 0) -> pd.DataFrame:
    """Synthetic observations in the model's domain: a smooth field with a lapse rate."""
    rng = np.random.default_rng(seed)
    (la0, la1), (lo0, lo1) = bundle.domain or [[50.0, 58.0], [-10.0, 2.0]]
    lat = rng.uniform(la0, la1, n)
    lon = rng.uniform(lo0, lo1, n)
    elev = np.nan_to_num(bundle.model_elevation(lat, lon), nan=0.0)
    rows = []
    for k in range(steps):
        t = pd.Timestamp("2019-03-27T06:00") + pd.Timedelta(hours=6 * k)
        field = 281.0 + 2.0 * np.sin(k) - 0.5 * (lat - la0) + 0.2 * (lon - lo0) - 0.0065 * elev
        for j in range(n):
            rows.append((t, lat[j], lon[j], field[j] + rng.normal(0, 0.3), elev[j]))
    return pd.DataFrame(rows, columns=["time", "lat", "lon", "value_k", "elevation"])


def _fail(msg: str) -> typer.Exit:
    typer.echo(f"equigrid grid: {msg}", err=True)
    return typer.Exit(2)


def grid_command(
    stations: Annotated[
        Path | None, typer.Argument(help="station CSV (time, lat, lon, value[, elevation_m])")
    ] = None,
    out: Annotated[Path, typer.Option(help="output netCDF file")] = Path("equigrid_grid.nc"),
    model: Annotated[
        Path | None, typer.Option(help="model bundle (default: the shipped model)")
    ] = None,
    bbox: Annotated[
        str | None, typer.Option(help="W,S,E,N in degrees (default: the model's domain)")
    ] = None,
    resolution: Annotated[float, typer.Option(help="grid spacing in degrees")] = 0.1,
    units: Annotated[
        str | None, typer.Option(help="units of the station values and the output: K or degC")
    ] = None,
    equivariant_only: Annotated[
        bool, typer.Option(help="use the model's equivariant component")
    ] = False,
    demo: Annotated[
        bool, typer.Option(help="grid synthetic stations (no input file needed)")
    ] = False,
    device: Annotated[str, typer.Option(help="cpu or cuda")] = "cpu",
) -> None:
    """Grid a station record (every time step) into CF netCDF: mean and variance per cell."""
    if units is not None and units not in UNITS:
        raise _fail(f"--units must be one of {sorted(UNITS)}, got {units!r}")
    if (stations is None) == (not demo):
        raise _fail("give a station CSV or --demo (not both)")
    try:
        bundle = load_bundle(model, device=device)
        if demo:
            df, in_units = demo_stations(bundle), "K"
        else:
            assert stations is not None
            df, in_units = read_stations(stations, units)
        out_units = units or in_units
        if bbox is None:
            (s, n), (w, e) = bundle.domain or [
                [df.lat.min(), df.lat.max()],
                [df.lon.min(), df.lon.max()],
            ]
        else:
            parts = bbox.split(",")
            if len(parts) != 4:
                raise GridError("--bbox needs four numbers W,S,E,N")
            try:
                w, s, e, n = (float(v) for v in parts)
            except ValueError:
                raise GridError(f"--bbox {bbox!r} is not four numbers") from None
        grid = GridSpec.from_bbox(w, s, e, n, resolution)
        rows = grid_record(bundle, by_time(df), grid, out, out_units, equivariant_only)
    except (BundleError, StationError, GridError) as err:
        raise _fail(str(err)) from None
    typer.echo(
        f"model {bundle.name} ({bundle.path}), grid {grid.shape[0]}x{grid.shape[1]} "
        f"at {resolution} deg, units {out_units}"
    )
    typer.echo(
        f"{'time':16s} {'stations':>8s} {'merged':>6s} {'mean':>8s} {'mean std':>8s} {'ms':>7s}"
    )
    for r in rows:
        typer.echo(
            f"{r['time']:16s} {r['stations']:>8d} {r['merged']:>6d} {r['mean']:>8.2f} "
            f"{r['std']:>8.2f} {r['ms']:>7.0f}"
        )
    typer.echo(f"wrote {out}")


def register(app: typer.Typer) -> None:
    app.command("grid")(grid_command)
