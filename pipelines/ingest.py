"""``equigrid ingest``: ERA5 2 m temperature (+ orography) files -> one training store.

Everything is read and checked before anything is written; the store is written to a
temporary name and moved into place (:func:`pipelines.store.write_store`), so bad input
leaves no file and an existing store untouched.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import shlex
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import dask
import numpy as np
import typer
import xarray as xr

from pipelines import download
from pipelines.era5 import combine_times, read_t2m
from pipelines.errors import IngestError
from pipelines.orography import read_orography
from pipelines.store import DEFAULT_SPLIT_DAYS, STORE_VERSION, StoreError, split_by_day, write_store

DaySplit = tuple[tuple[int, int], ...]


def parse_split(text: str) -> DaySplit:
    """``"1-21,22-24,25-31"`` -> ((1, 21), (22, 24), (25, 31)): train, validation[, test]."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (2, 3):
        raise IngestError(f"--split {text!r}: give train,validation[,test] day ranges")
    ranges = []
    for part in parts:
        lo, _, hi = part.partition("-")
        try:
            a, b = int(lo), int(hi or lo)
        except ValueError:
            raise IngestError(f"--split {text!r}: {part!r} is not a day range like 1-21") from None
        if not 1 <= a <= b <= 31:
            raise IngestError(f"--split {text!r}: {part!r} is not within days 1-31")
        ranges.append((a, b))
    for (_, b), (a, _) in itertools.pairwise(ranges):
        if a <= b:
            raise IngestError(f"--split {text!r}: ranges overlap or are out of order")
    return tuple(ranges)


def format_split(days: DaySplit) -> str:
    return ",".join(f"{a}-{b}" for a, b in days)


def sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def file_record(path: Path) -> dict[str, Any]:
    return {"path": str(path.resolve()), "bytes": path.stat().st_size, "sha256": sha256(path)}


def mean_std(da: xr.DataArray) -> tuple[float, float]:
    """Mean and standard deviation in float64 (one pass over lazy data)."""
    x = da.astype(np.float64)
    mean, std = dask.compute(x.mean(), x.std())
    return float(mean), float(std)


def assign_split(t2m: xr.DataArray, days: DaySplit) -> xr.DataArray:
    """Split codes per time; every time must fall in a range and training must be non-empty."""
    codes = split_by_day(list(t2m["time"].values), days)
    if (codes < 0).any():
        first = np.datetime_as_string(t2m["time"].values[codes < 0][0], unit="D")
        raise IngestError(
            f"{int((codes < 0).sum())} times fall on days outside --split "
            f"{format_split(days)} (first {first})"
        )
    if not (codes == 0).any():
        raise IngestError(f"no time falls in the training days of --split {format_split(days)}")
    return xr.DataArray(
        codes,
        dims="time",
        coords={"time": t2m["time"]},
        attrs={"flag_values": [0, 1, 2], "flag_meanings": "train validation test"},
    )


def ingest(
    files: Sequence[str | Path],
    out: str | Path,
    orography: str | Path | None = None,
    split: DaySplit = DEFAULT_SPLIT_DAYS,
    command: str | None = None,
    extra_provenance: dict[str, Any] | None = None,
) -> Path:
    """Read, check and combine ``files`` (+ ``orography``) and write the store at ``out``."""
    paths = [Path(f) for f in files]
    if not paths:
        raise IngestError("no input files")
    t2m = combine_times([read_t2m(p) for p in paths], [str(p) for p in paths])
    codes = assign_split(t2m, split)
    mean, std = mean_std(t2m.isel(time=codes.values == 0))
    if not std > 0:
        raise IngestError("2 m temperature is constant over the training split")
    ds = xr.Dataset({"t2m": t2m, "split": codes})
    attrs: dict[str, Any] = {
        "equigrid_store_version": STORE_VERSION,
        "Conventions": "CF-1.8",
        "t2m_mean": mean,
        "t2m_std": std,
        "split_days": format_split(split),
    }
    if orography is not None:
        orog_path = Path(orography)
        static = read_orography(orog_path, t2m)
        ds = ds.merge(static)
        attrs["orog_mean"], attrs["orog_std"] = mean_std(static["orog"])
    record = {
        "inputs": [file_record(p) for p in paths],
        "orography": file_record(Path(orography)) if orography is not None else None,
        "command": command,
        "written_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "equigrid_version": _version(),
        **(extra_provenance or {}),
    }
    ds.attrs = attrs | {"provenance": json.dumps(record)}
    return write_store(ds, out)


def _version() -> str:
    try:
        return metadata.version("equigrid")
    except metadata.PackageNotFoundError:
        return "unknown"


def _command(files: Sequence[Path], out: Path, options: dict[str, Any]) -> str:
    """The command line, rebuilt from the parsed arguments with absolute paths."""
    args = ["equigrid", "ingest", *(str(f.resolve()) for f in files), "--out", str(out.resolve())]
    for flag, value in options.items():
        if value is not None:
            args += [flag, str(value.resolve() if isinstance(value, Path) else value)]
    return shlex.join(args)


def fetch(
    months: str, area: str | None, hours: str | None, directory: Path
) -> tuple[list[Path], dict[str, Any]]:
    """Download (resumably) the months of ``--download``; the files and their provenance."""
    if area is None:
        raise IngestError("--download needs --area north,west,south,east")
    requests = download.build_requests(
        download.parse_area(area),
        download.parse_months(months),
        download.parse_hours(hours) if hours is not None else download.ALL_HOURS,
    )
    files = download.download(requests, directory)
    record = {"dataset": download.DATASET, "requests": [r.request for r in requests]}
    return files, {"download": record}


def register(app: typer.Typer) -> None:
    """Add the ``ingest`` command to the CLI."""

    @app.command("ingest")
    def ingest_command(
        files: list[Path] = typer.Argument(
            None, help="ERA5 t2m files: netCDF (CDS old/new, tidy) or GRIB."
        ),
        out: Path = typer.Option(..., "--out", help="The store to write (netCDF)."),
        orography: Path | None = typer.Option(
            None,
            "--orography",
            help="ERA5 geopotential or DEM netCDF (m), with land fraction if present.",
        ),
        split: str = typer.Option(
            format_split(DEFAULT_SPLIT_DAYS),
            "--split",
            help="Day-of-month ranges: train,validation[,test].",
        ),
        months: str | None = typer.Option(
            None,
            "--download",
            help="Download these months from the CDS first (2019-03 or 2019-01:2019-06).",
        ),
        area: str | None = typer.Option(
            None, "--area", help="With --download: north,west,south,east in degrees."
        ),
        hours: str | None = typer.Option(
            None, "--hours", help="With --download: UTC hours, e.g. 0,6,12,18 (default 0-23)."
        ),
        download_dir: Path | None = typer.Option(
            None,
            "--download-dir",
            help="With --download: where monthly files go (default: era5_downloads beside --out).",
        ),
    ) -> None:
        """Turn ERA5 2 m temperature files into a training store."""
        inputs = list(files or [])
        options = {"--orography": orography, "--split": split, "--download": months}
        options |= {"--area": area, "--hours": hours, "--download-dir": download_dir}
        try:
            days = parse_split(split)
            extra: dict[str, Any] = {}
            if months is not None:
                directory = download_dir or out.parent / "era5_downloads"
                fetched, extra = fetch(months, area, hours, directory)
                inputs += fetched
            elif area is not None or hours is not None or download_dir is not None:
                raise IngestError("--area, --hours and --download-dir need --download")
            command = _command(files or [], out, options)
            path = ingest(inputs, out, orography, days, command, extra)
        except (IngestError, StoreError, OSError) as e:  # OSError: the store could not be written
            typer.echo(f"equigrid ingest: {' '.join(str(e).split())}", err=True)
            raise typer.Exit(2) from None
        typer.echo(f"wrote {path}")
