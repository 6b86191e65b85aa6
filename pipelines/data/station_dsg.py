"""CF discrete-sampling-geometry station files (``featureType = timeSeries``) -> a table.

All four CF layouts of time series are read (CF-1.10 §9.3): orthogonal multidimensional
(``tas(station, time)`` with ``time(time)``), incomplete multidimensional (``tas(station, obs)``
with ``time(station, obs)``), contiguous ragged (``row_size`` with ``sample_dimension``) and
indexed ragged (``station_index`` with ``instance_dimension``), and a single station (scalar
``lat``/``lon``). Variables are found by CF attributes (``standard_name`` air_temperature,
latitude, longitude, surface_altitude/altitude/height, time; ``cf_role = timeseries_id``),
else by our column names, or mapped with ``columns``; the values' units come from their
``units`` attribute. Elements whose value is missing (the fill value of a multidimensional
array) are not observations; every other element is a row, numbered by its index into the
value variable (``tas[3,17]``).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from inference.errors import StationError, one_line
from inference.units import TemperatureUnit, canonical_units, to_kelvin

from .station_table import ALIASES, StationTable, ids, numbers, parse_times

STANDARD_NAMES: dict[str, tuple[str, ...]] = {
    "value": ("air_temperature",),
    "lat": ("latitude",),
    "lon": ("longitude",),
    "elevation": ("surface_altitude", "altitude", "height_above_mean_sea_level", "height"),
    "time": ("time",),
}


def read_dsg(p: Path, columns: Mapping[str, str] | None = None) -> StationTable:
    """Read a CF DSG ``timeSeries`` netCDF into a :class:`StationTable` (module docstring)."""
    try:
        ds = xr.open_dataset(p)
    except (OSError, ValueError) as e:
        raise StationError(f"cannot read {p} as netCDF: {one_line(e)}") from None
    with ds:
        feature = str(ds.attrs.get("featureType", ""))
        if feature.lower() != "timeseries":
            raise StationError(
                f"{p}: featureType is {feature or 'missing'!r}; station netCDF must be a CF "
                "discrete sampling geometry with featureType = timeSeries"
            )
        names = {key: _find(ds, key, columns) for key in (*STANDARD_NAMES, "id")}
        for key in ("value", "lat", "lon", "time"):
            if names[key] is None:
                raise StationError(f"{p}: no {key} variable (by standard_name or name)")
        value = ds[names["value"]]
        units = canonical_units(value.attrs.get("units"))
        if units not in {u.value for u in TemperatureUnit}:
            raise StationError(f"{p}: unknown units {value.attrs.get('units')!r} of {value.name}")
        unit = TemperatureUnit(str(units))
        columns_out = _per_observation(ds, names, value)
    vals = numbers(columns_out["value"])
    kept = np.flatnonzero(~np.isnan(vals))  # missing elements are not observations
    lat, lon = numbers(columns_out["lat"])[kept], numbers(columns_out["lon"])[kept]
    elev = columns_out.get("elevation")
    return StationTable(
        lat=lat,
        lon=lon,
        value_k=to_kelvin(vals[kept], unit),
        elevation_m=numbers(elev)[kept] if elev is not None else np.full(len(kept), np.nan),
        station_id=ids(_text(columns_out["id"])[kept] if "id" in columns_out else None, lat, lon),
        time=parse_times(columns_out["time"][kept]),
        record=kept.astype(np.int64),
        units=unit,
        source=str(p),
        record_kind="index",
        record_var=str(value.name),
        record_shape=tuple(value.shape),
    )


def _find(ds: xr.Dataset, key: str, columns: Mapping[str, str] | None) -> Hashable | None:
    if columns and key in columns:
        if columns[key] not in ds.variables:
            raise StationError(f"--columns maps {key} to {columns[key]!r}, not a variable")
        return columns[key]
    for name, var in ds.variables.items():
        if key == "id" and var.attrs.get("cf_role") == "timeseries_id":
            return name
        if var.attrs.get("standard_name") in STANDARD_NAMES.get(key, ()):
            return name
    low = {str(n).lower(): n for n in ds.variables}
    return next((low[a] for a in ALIASES[key] if a in low), None)


def _per_observation(
    ds: xr.Dataset, names: Mapping[str, Hashable | None], value: xr.DataArray
) -> dict[str, NDArray[Any]]:
    """Every variable as one value per element of ``value`` (flattened in its order)."""
    out: dict[str, NDArray[Any]] = {}
    station = _ragged_station(ds, value)
    for key, name in names.items():
        if name is None:
            continue
        var = ds[name]
        if station is not None and var.dims != value.dims:  # a per-station variable
            per_station = np.asarray(var.values).reshape(-1)
            out[key] = per_station[station] if var.ndim else np.repeat(per_station, value.size)
        else:
            try:
                out[key] = np.asarray(xr.broadcast(var, value)[0].transpose(*value.dims).values)
            except ValueError as e:
                raise StationError(f"{name} does not fit {value.name}: {one_line(e)}") from None
            out[key] = out[key].reshape(-1)
    return out


def _ragged_station(ds: xr.Dataset, value: xr.DataArray) -> NDArray[np.int64] | None:
    """The station of each observation of a ragged array (None: not ragged)."""
    if value.ndim != 1:
        return None
    for name, var in ds.variables.items():
        if var.attrs.get("sample_dimension") in value.dims:  # contiguous: row_size(station)
            sizes = np.asarray(var.values, np.int64)
            if sizes.sum() != value.size:
                raise StationError(f"{name}: row sizes add up to {sizes.sum()}, not {value.size}")
            return np.repeat(np.arange(len(sizes)), sizes)
        if var.attrs.get("instance_dimension") and var.dims == value.dims:  # indexed
            return np.asarray(var.values, np.int64)
    return None


def _text(values: NDArray[Any]) -> NDArray[np.str_]:
    return np.array(
        [v.decode() if isinstance(v, bytes) else str(v) for v in values.tolist()], dtype=str
    )
