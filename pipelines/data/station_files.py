"""Station files -> :class:`~pipelines.data.station_table.StationTable`: CSV, Parquet, CF DSG.

:func:`read_table` chooses the reader by the file's suffix: ``.parquet``/``.pq`` (long table,
read with pyarrow), ``.nc``/``.nc4``/``.cdf`` (a CF discrete-sampling-geometry netCDF,
:mod:`.station_dsg`), anything else CSV (plain comma-separated with a header line).
Long tables have one row per observation; columns are recognised by name or mapped with
``columns``. Nothing is dropped here: blank CSV lines are not observations, every other row
comes back with its line (CSV) or row (Parquet) number for the rows a job skips.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from inference.errors import StationError, one_line
from inference.units import TemperatureUnit

from .station_dsg import read_dsg
from .station_table import (
    ALIASES,
    REQUIRED,
    StationTable,
    check_mapping,
    find_column,
    from_columns,
    infer_units,
)

PARQUET = (".parquet", ".pq")
NETCDF = (".nc", ".nc4", ".cdf", ".netcdf")


def read_table(
    path: str | Path,
    units: TemperatureUnit | None = None,
    columns: Mapping[str, str] | None = None,
) -> StationTable:
    """Read a station file (CSV, Parquet or CF DSG netCDF, by suffix) into a table in K.

    ``units`` (``--value-units``) is the units of the values where the file does not say
    them (the value column's name, ``t_degC``, or a netCDF ``units`` attribute); where the
    file says otherwise it is an error, never a silent override. ``columns`` maps our keys
    (``time``, ``lat``, ``lon``, ``value``, ``elevation``, ``id``) to the file's names.
    """
    p = Path(path)
    if not p.is_file():
        raise StationError(f"station file not found: {p}")
    check_mapping(columns or {})
    suffix = p.suffix.lower()
    if suffix in NETCDF:
        table = read_dsg(p, columns)
    elif suffix in PARQUET:
        table = _long_table(_parquet(p), p, units, columns, "row")
    else:
        table = _long_table(_csv(p, columns), p, units, columns, "line")
    if len(table) == 0:
        raise StationError(f"{p}: no observations")
    if units is not None and table.units is not units:
        raise StationError(
            f"{p}: the file gives its values in {table.units.value}, --value-units says "
            f"{units.value}; leave --value-units out (--units sets the output's units)"
        )
    return table


def _separator(p: Path) -> str:
    """The CSV's field separator: ``,``, or ``;`` / tab where the header line uses one of
    them and no comma (spreadsheets in many locales write ``;``)."""
    try:
        with p.open(encoding="utf-8", errors="replace") as f:
            first = f.readline()
    except OSError as e:
        raise StationError(f"cannot read {p}: {one_line(e)}") from None
    if "," not in first:
        for sep in (";", "\t"):
            if sep in first:
                return sep
    return ","


def _header(p: Path) -> list[str]:
    try:
        return [str(c) for c in pd.read_csv(p, nrows=0, sep=_separator(p)).columns]
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise StationError(f"cannot read {p} as CSV: {one_line(e)}") from None


def _csv(p: Path, columns: Mapping[str, str] | None) -> pd.DataFrame:
    """The CSV's recognised columns as text, one frame row per line after the header."""
    header = _header(p)
    wanted = [c for key in ALIASES if (c := find_column(header, key, columns)) is not None]
    try:
        frame = pd.read_csv(
            p,
            sep=_separator(p),
            usecols=sorted(set(wanted)),
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,  # keeps frame row i at line i + 2
        )
    except (pd.errors.ParserError, ValueError, UnicodeDecodeError) as e:
        raise StationError(f"cannot read {p} as CSV: {one_line(e)}") from None
    frame.index = np.arange(len(frame)) + 2
    blank = (frame.fillna("").apply(lambda c: c.str.strip()) == "").all(axis=1)
    return frame[~blank]


def _parquet(p: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(p)
    except (ImportError, OSError, ValueError) as e:
        raise StationError(f"cannot read {p} as Parquet: {one_line(e)}") from None
    frame.index = np.arange(len(frame))
    return frame


def _long_table(
    frame: pd.DataFrame,
    p: Path,
    units: TemperatureUnit | None,
    columns: Mapping[str, str] | None,
    record_kind: str,
) -> StationTable:
    cols = [str(c) for c in frame.columns]
    frame.columns = pd.Index(cols)
    found = {key: find_column(cols, key, columns) for key in ALIASES}
    for key in REQUIRED:
        if found[key] is None:
            names = ", ".join(ALIASES[key])
            raise StationError(f"{p}: no {key} column (accepted names: {names}; or --columns)")
    value_col = str(found["value"])
    unit = infer_units(value_col) or units
    if unit is None:
        raise StationError(
            f"{p}: cannot tell the units of column {value_col!r}; pass --value-units"
        )
    record = frame.index.to_numpy(np.int64)
    return from_columns(frame, found, unit, str(p), record, record_kind)
