"""Ingestion: ERA5 2 m temperature (+ orography) files -> one training store.

Everything is read and checked before anything is written; the store is written to a
temporary name and moved into place (:func:`pipelines.data.store.write_store`), so bad input
leaves no file and an existing store untouched. The command is :mod:`cli.ingest`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dask
import numpy as np
import xarray as xr

from inference.bundle import code_version
from inference.errors import DataError

from . import download
from .era5 import combine_times, read_t2m
from .orography import read_orography
from .store import DEFAULT_SPLIT_DAYS, STORE_VERSION, split_by_day, write_store

DaySplit = tuple[tuple[int, int], ...]


def check_split(ranges: Sequence[tuple[int, int]]) -> DaySplit:
    """Day-of-month ranges for train, validation[, test], checked: within 1..31, in order."""
    text = format_split(ranges)
    if len(ranges) not in (2, 3):
        raise DataError(f"--split {text!r}: give train,validation[,test] day ranges")
    for a, b in ranges:
        if not 1 <= a <= b <= 31:
            raise DataError(f"--split {text!r}: {a}-{b} is not within days 1-31")
    for (_, b), (a, _) in itertools.pairwise(ranges):
        if a <= b:
            raise DataError(f"--split {text!r}: ranges overlap or are out of order")
    return tuple((int(a), int(b)) for a, b in ranges)


def format_split(days: Sequence[tuple[int, int]]) -> str:
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
        raise DataError(
            f"{int((codes < 0).sum())} times fall on days outside --split "
            f"{format_split(days)} (first {first})"
        )
    if not (codes == 0).any():
        raise DataError(f"no time falls in the training days of --split {format_split(days)}")
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
        raise DataError("no input files")
    t2m = combine_times([read_t2m(p) for p in paths], [str(p) for p in paths])
    codes = assign_split(t2m, split)
    mean, std = mean_std(t2m.isel(time=codes.values == 0))
    if not std > 0:
        raise DataError("2 m temperature is constant over the training split")
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
        "equigrid_version": code_version(),
        **(extra_provenance or {}),
    }
    ds.attrs = attrs | {"provenance": json.dumps(record)}
    return write_store(ds, out)


def fetch(
    months: str, area: download.Area, hours: Sequence[int], directory: Path
) -> tuple[list[Path], dict[str, Any]]:
    """Download (resumably) the months of ``--download``; the files and their provenance."""
    requests = download.build_requests(area, download.parse_months(months), hours)
    files = download.download(requests, directory)
    record = {"dataset": download.DATASET, "requests": [r.request for r in requests]}
    return files, {"download": record}
