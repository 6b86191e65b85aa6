"""``equigrid grid``: grid a station record (every time step) into CF netCDF or Zarr.

``equigrid grid STATIONS --out grid.nc --bbox W,S,E,N --resolution 0.1`` grids every time
step of a station file (CSV, Parquet or CF DSG netCDF) with a model bundle (the shipped
default unless ``--model``) on a dask.distributed cluster (local, sized to the machine,
unless ``--scheduler``); ``equigrid grid --demo`` grids synthetic stations, so the command
runs with no data at all. Bad rows are skipped, counted and listed beside the output
(``--strict`` refuses them); ``--resume`` continues an interrupted job. The station values'
units come from the data (a value column named like ``t_degC``, a netCDF ``units``
attribute) or, where the file says nothing, ``--value-units``; ``--units`` is the output's
(default: the values' own). Without ``--out`` the output is ``STATIONS.grid.nc`` (or
``.zarr``) in the current directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from inference.bundle import load_bundle
from inference.errors import ConfigError
from inference.units import TemperatureUnit
from pipelines.batch.cluster import check_options, connect
from pipelines.batch.demo import demo_stations
from pipelines.batch.gridding import run_job
from pipelines.batch.output import OutputFormat, output_format
from pipelines.batch.prepare import GridOptions, prepare_job
from pipelines.data.station_files import read_table

from .options import (
    command_line,
    count_option,
    device_option,
    frequency_option,
    key_values,
    numbers,
)


def grid(
    ctx: typer.Context,
    stations: Annotated[
        Path | None,
        typer.Argument(
            help="station file: CSV or Parquet (time, lat, lon, value[, elevation_m, "
            "station_id]) or CF DSG netCDF (featureType=timeSeries)"
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="output: netCDF, or Zarr for a name ending .zarr (default: STATIONS.grid.nc "
            "in the current directory, never in the input's folder, which may be read-only "
            "or someone else's data; equigrid_demo.nc with --demo)"
        ),
    ] = None,
    model: Annotated[
        Path | None, typer.Option(help="model bundle (default: the shipped model)")
    ] = None,
    bbox: Annotated[
        str | None,
        typer.Option(help="W,S,E,N in degrees (default: the stations' box plus a margin)"),
    ] = None,
    resolution: Annotated[float, typer.Option(help="grid spacing in degrees")] = 0.1,
    units: Annotated[
        TemperatureUnit | None,
        typer.Option(help="units of the output's tas (default: the station values' units)"),
    ] = None,
    value_units: Annotated[
        TemperatureUnit | None,
        typer.Option(
            help="units of the station values where the file does not say them (a value "
            "column named like t_degC or t_K, or a netCDF units attribute, says them)"
        ),
    ] = None,
    start: Annotated[str | None, typer.Option(help="first time step (ISO 8601, UTC)")] = None,
    end: Annotated[str | None, typer.Option(help="last time step (ISO 8601, UTC)")] = None,
    freq: Annotated[
        str | None,
        frequency_option(
            "time step (pandas frequency, e.g. 1h, 3h, 1D; default 1h with "
            "--start/--end; default without them: the stations' own times)"
        ),
    ] = None,
    dem: Annotated[
        Path | None,
        typer.Option(
            help="DEM: a netCDF or GeoTIFF file, or a folder of them (tiles); cell elevations "
            "resampled to the grid; cells outside every DEM get none (said in the output)"
        ),
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option(
            help="map columns, e.g. time=obs_time,value=t_degC,id=icao (keys: time, "
            "lat, lon, value, elevation, id)"
        ),
    ] = None,
    output_type: Annotated[
        OutputFormat, typer.Option("--format", help="output format (auto: by --out's suffix)")
    ] = OutputFormat.auto,
    scheduler: Annotated[
        str | None,
        typer.Option(help="address of an existing dask scheduler, e.g. tcp://scheduler:8786"),
    ] = None,
    workers: Annotated[
        int | None, count_option("workers of the local cluster (default: one per core)")
    ] = None,
    chunk_steps: Annotated[int, count_option("time steps per task (and Zarr chunk)")] = 24,
    batch_steps: Annotated[int, count_option("time steps per model forward pass")] = 8,
    resume: Annotated[
        bool, typer.Option(help="continue an interrupted job from its completed chunks")
    ] = False,
    strict: Annotated[bool, typer.Option(help="fail on any bad row, before any work")] = False,
    equivariant_only: Annotated[
        bool, typer.Option(help="use the model's equivariant component")
    ] = False,
    demo: Annotated[
        bool, typer.Option(help="grid synthetic stations (no input file needed)")
    ] = False,
    device: Annotated[str, device_option("on the workers", require=False)] = "auto",
    quiet: Annotated[bool, typer.Option(help="no progress output")] = False,
) -> None:
    """Grid a station record (every time step) into CF netCDF or Zarr: mean and variance."""
    if (stations is None) == (not demo):
        raise ConfigError("give a station file or --demo (not both)")
    check_options(scheduler, workers)
    box = _bbox(bbox)  # bad option values fail before any work
    bundle = load_bundle(model)  # on the client: metadata and domain; workers load their own
    if demo:
        table = demo_stations(bundle)
    else:
        assert stations is not None
        mapping = dict(key_values(columns, "--columns")) if columns else None
        table = read_table(stations, value_units, mapping)
    out = out or default_out(stations, output_type)
    replaces = out.exists() and not resume
    options = GridOptions(
        out=out,
        resolution=resolution,
        fmt=output_format(out, output_type),
        bbox=box,
        units=units,
        start=start,
        end=end,
        freq=freq,
        dem=dem,
        equivariant_only=equivariant_only,
        device=device,
        chunk_steps=chunk_steps,
        batch_steps=batch_steps,
        strict=strict,
        command=command_line(ctx),
    )
    prepared = prepare_job(table, bundle, options)
    for line in prepared.messages:
        typer.echo(f"equigrid grid: {line}", err=True)
    for line in prepared.warnings:
        typer.echo(f"equigrid grid: warning: {line}", err=True)
    job = prepared.job
    try:
        outcome = run_job(job, lambda: connect(scheduler, workers, device), resume, quiet=quiet)
    except KeyboardInterrupt:
        typer.echo(
            f"equigrid grid: interrupted; the completed chunks are kept in {out}.partial: "
            "rerun the same command with --resume to continue",
            err=True,
        )
        raise typer.Exit(130) from None
    typer.echo(
        f"model {bundle.name} ({bundle.path}), grid {job.grid.shape[0]}x{job.grid.shape[1]} "
        f"at {resolution:g} deg, units {job.units.value}: {outcome.steps} steps "
        f"({outcome.empty_steps} without stations); {outcome.computed} chunks computed"
        + (f" on {outcome.workers} workers, {outcome.rate:.2f} steps/s" if outcome.computed else "")
        + (f", the model loaded {outcome.loads_per_worker}x per worker" if outcome.computed else "")
        + (f"; {outcome.resumed} chunks resumed" if outcome.resumed else "")
    )
    typer.echo(prepared.screening.summary())
    typer.echo(f"wrote {out}" + (" (replaced the output that was there)" if replaces else ""))


def default_out(stations: Path | None, fmt: OutputFormat = OutputFormat.auto) -> Path:
    """The output in the current directory, named after the station file
    (``data/obs.csv`` -> ``obs.grid.nc``, or ``obs.grid.zarr`` with ``--format zarr``), or
    the demo's."""
    suffix = ".zarr" if fmt is OutputFormat.zarr else ".nc"
    if stations is None:
        return Path(f"equigrid_demo{suffix}")
    return Path(f"{stations.stem}.grid{suffix}")


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    w, s, e, n = numbers(text, "--bbox", 4)
    return w, s, e, n
