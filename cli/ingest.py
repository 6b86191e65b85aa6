"""``equigrid ingest``: ERA5 2 m temperature (+ orography) files -> one training store."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, Any

import typer

from inference.errors import DataError
from pipelines.data import download
from pipelines.data.ingest import check_split, fetch, format_split
from pipelines.data.ingest import ingest as run_ingest
from pipelines.data.store import DEFAULT_SPLIT_DAYS

from .options import comma_list, int_range, numbers


def _command(files: list[Path], out: Path, options: dict[str, Any]) -> str:
    """The command line, rebuilt from the parsed arguments with absolute paths."""
    args = ["equigrid", "ingest", *(str(f.resolve()) for f in files), "--out", str(out.resolve())]
    for flag, value in options.items():
        if value is not None:
            args += [flag, str(value.resolve() if isinstance(value, Path) else value)]
    return shlex.join(args)


def ingest(
    out: Annotated[Path, typer.Option("--out", help="The store to write (netCDF).")],
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="ERA5 t2m files: netCDF (CDS old/new, tidy) or GRIB."),
    ] = None,
    orography: Annotated[
        Path | None,
        typer.Option(help="ERA5 geopotential or DEM netCDF (m), with land fraction if present."),
    ] = None,
    split: Annotated[
        str, typer.Option(help="Day-of-month ranges: train,validation[,test].")
    ] = format_split(DEFAULT_SPLIT_DAYS),
    months: Annotated[
        str | None,
        typer.Option(
            "--download",
            help="Download these months from the CDS first (2019-03 or 2019-01:2019-06).",
        ),
    ] = None,
    area: Annotated[
        str | None, typer.Option(help="With --download: north,west,south,east in degrees.")
    ] = None,
    hours: Annotated[
        str | None,
        typer.Option(help="With --download: UTC hours, e.g. 0,6,12,18 (default 0-23)."),
    ] = None,
    download_dir: Annotated[
        Path | None,
        typer.Option(
            help="With --download: where monthly files go (default: era5_downloads beside --out)."
        ),
    ] = None,
) -> None:
    """Turn ERA5 2 m temperature files into a training store."""
    inputs = list(files or [])
    options = {"--orography": orography, "--split": split, "--download": months}
    options |= {"--area": area, "--hours": hours, "--download-dir": download_dir}
    days = check_split(comma_list(split, "--split", int_range, what="day range"))
    extra: dict[str, Any] = {}
    if months is not None:
        if area is None:
            raise DataError("--download needs --area north,west,south,east")
        box = download.check_area(numbers(area, "--area", 4))
        hour_list = (
            download.check_hours(comma_list(hours, "--hours", int_range, what="hour"))
            if hours is not None
            else download.ALL_HOURS
        )
        fetched, extra = fetch(
            months, box, hour_list, download_dir or out.parent / "era5_downloads"
        )
        inputs += fetched
    elif area is not None or hours is not None or download_dir is not None:
        raise DataError("--area, --hours and --download-dir need --download")
    command = _command(list(files or []), out, options)
    path = run_ingest(inputs, out, orography, days, command, extra)
    typer.echo(f"wrote {path}")
