"""ERA5 2 m temperature from the Copernicus Climate Data Store, one request per month.

Requests are built by a pure function (:func:`build_requests`) so they can be checked
without the network. :func:`download` is resumable: a month whose file is already on disk
is skipped, and a file only gets its final name once the client has finished writing it
(an interrupted download leaves ``*.part``, which is not taken as done). The client is
``cdsapi.Client()`` (optional extra ``download``; credentials from ``~/.cdsapirc``) or any
object with the same ``retrieve`` method.
"""

from __future__ import annotations

import calendar
import importlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from inference.errors import DataError, one_line

DATASET = "reanalysis-era5-single-levels"
ALL_HOURS = tuple(range(24))

Area = tuple[float, float, float, float]  # north, west, south, east (degrees), as CDS wants
Month = tuple[int, int]  # (year, month)


class CdsClient(Protocol):
    """The part of ``cdsapi.Client`` we use."""

    def retrieve(self, name: str, request: dict[str, Any], target: str | None = None) -> Any: ...


@dataclass(frozen=True)
class MonthRequest:
    """One CDS request and the file name it is saved under."""

    year: int
    month: int
    request: dict[str, Any]

    @property
    def filename(self) -> str:
        return f"era5_t2m_{self.year:04d}-{self.month:02d}.nc"


def build_requests(
    area: Area, months: Sequence[Month], hours: Sequence[int] = ALL_HOURS
) -> list[MonthRequest]:
    """One ``reanalysis-era5-single-levels`` request per month for 2 m temperature in ``area``."""
    north, west, south, east = area
    times = [f"{h:02d}:00" for h in sorted(set(hours))]
    out = []
    for year, month in months:
        n_days = calendar.monthrange(year, month)[1]
        request = {
            "product_type": ["reanalysis"],
            "variable": ["2m_temperature"],
            "year": [f"{year:04d}"],
            "month": [f"{month:02d}"],
            "day": [f"{d:02d}" for d in range(1, n_days + 1)],
            "time": times,
            "area": [north, west, south, east],
            "data_format": "netcdf",
            "download_format": "unarchived",
        }
        out.append(MonthRequest(year, month, request))
    return out


def download(
    requests: Sequence[MonthRequest], directory: str | Path, client: CdsClient | None = None
) -> list[Path]:
    """Retrieve each request into ``directory`` unless its file exists; the files, in order."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for req in requests:
        target = directory / req.filename
        if not target.is_file():
            client = client or make_client()
            part = target.with_name(target.name + ".part")
            try:
                client.retrieve(DATASET, req.request, str(part))
            except Exception as e:  # the client's errors (HTTP, CDS queue) are not ours to type
                raise DataError(f"CDS request for {req.filename} failed: {one_line(e)}") from None
            if not part.is_file():
                raise DataError(f"CDS client wrote no file for {req.filename}")
            os.replace(part, target)
        paths.append(target)
    return paths


def make_client() -> CdsClient:
    """``cdsapi.Client()`` configured from the user's ``~/.cdsapirc``."""
    try:
        cdsapi = importlib.import_module("cdsapi")
    except ImportError:
        raise DataError("--download needs cdsapi: pip install 'equigrid[download]'") from None
    try:
        client: CdsClient = cdsapi.Client()
    except Exception as e:  # cdsapi raises bare Exception for a missing/bad configuration
        raise DataError(f"cannot set up the CDS client (see ~/.cdsapirc): {one_line(e)}") from None
    return client


def check_area(values: Sequence[float]) -> Area:
    """(north, west, south, east) in degrees, checked."""
    if len(values) != 4:
        raise DataError("--area: give north,west,south,east in degrees")
    north, west, south, east = (float(v) for v in values)
    if not (-90 <= south < north <= 90 and -180 <= west < east <= 360):
        raise DataError(
            f"--area {north:g},{west:g},{south:g},{east:g}: "
            "need south < north within ±90 and west < east"
        )
    return north, west, south, east


def parse_months(text: str) -> list[Month]:
    """``"2019-03"`` or ``"2019-01:2019-06"`` (inclusive) -> [(year, month), ...]."""
    first, _, last = text.partition(":")
    start, end = _month(first, text), _month(last or first, text)
    if end < start:
        raise DataError(f"--download {text!r}: the end month is before the start")
    index = range(start[0] * 12 + start[1] - 1, end[0] * 12 + end[1])
    return [(i // 12, i % 12 + 1) for i in index]


def _month(part: str, text: str) -> Month:
    year, _, month = part.strip().partition("-")
    try:
        ym = int(year), int(month)
    except ValueError:
        raise DataError(
            f"--download {text!r}: months look like 2019-03 or 2019-01:2019-06"
        ) from None
    if not 1 <= ym[1] <= 12 or ym[0] < 1940:
        raise DataError(f"--download {text!r}: {part!r} is not an ERA5 month (1940 onwards)")
    return ym


def check_hours(ranges: Sequence[tuple[int, int]]) -> tuple[int, ...]:
    """Hour ranges like ``[(0, 0), (6, 6), (12, 18)]`` -> sorted UTC hours, each in 0..23."""
    hours = {h for lo, hi in ranges for h in range(lo, hi + 1)}
    if not hours or min(hours) < 0 or max(hours) > 23:
        raise DataError("--hours: hours are 0..23")
    return tuple(sorted(hours))
