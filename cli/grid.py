"""``equigrid grid``: grid a station record (every time step) into one CF netCDF.

``equigrid grid STATIONS.csv --out grid.nc --bbox W,S,E,N --resolution 0.1`` grids every time
step of a station table with a model bundle (the shipped default unless ``--model``);
``equigrid grid --demo`` grids synthetic stations, so the command runs with no data at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from inference.bundle import load_bundle
from inference.errors import ConfigError
from inference.predictor import BundlePredictor
from inference.targets import TargetGrid
from inference.units import TemperatureUnit
from pipelines.batch.demo import demo_stations
from pipelines.batch.gridding import grid_record
from pipelines.data.station_table import by_time, read_stations

from .options import numbers


def grid(
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
        TemperatureUnit | None,
        typer.Option(help="units of the station values and the output"),
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
    if (stations is None) == (not demo):
        raise ConfigError("give a station CSV or --demo (not both)")
    bundle = load_bundle(model, device=device)
    if demo:
        df, in_units = demo_stations(bundle), TemperatureUnit.K
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
        w, s, e, n = numbers(bbox, "--bbox", 4)
    target = TargetGrid.from_bbox(w, s, e, n, resolution)
    sets = by_time(df)
    rows = grid_record(
        bundle, BundlePredictor(bundle), sets, target, out, out_units, equivariant_only
    )
    typer.echo(
        f"model {bundle.name} ({bundle.path}), grid {target.shape[0]}x{target.shape[1]} "
        f"at {resolution} deg, units {out_units.value}"
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
