"""The job's output: a CF-1.10 dataset of mean and variance per cell and step, as netCDF or Zarr.

Variables: ``tas(time, lat, lon)`` (``ancillary_variables = "tas_variance"``),
``tas_variance``, ``n_stations(time)`` (stations used per step; 0: the step is missing),
``in_domain(lat, lon)``, ``step_notes(time)`` (the notes the service would give with the
step: stations far from cells, cells outside the trained domain, elevations not used), and
the observations the model saw (``obs_*`` on an ``obs``
dimension: position, value in the output's units, station id and step), so that a map or a
station's series can be drawn from the output alone (``equigrid plot``). Provenance and the
account of every input row are global attributes.

:func:`create_store` writes the template into the job's Zarr store (coordinates, counts and
observations now; the fields chunk by chunk, by the workers); :func:`finish` adds the final
attributes and writes the output: the store itself for Zarr, or a netCDF4 file streamed
from it one chunk at a time (memory stays flat), each appearing only when complete.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import numpy as np
import xarray as xr
import zarr
from numpy.typing import NDArray

from inference.cf import CONVENTIONS, coordinate_attrs, netcdf_ready, variable_attrs
from inference.errors import DataError, one_line
from inference.files import atomic_paths
from inference.targets import TargetGrid
from inference.units import TemperatureUnit, from_kelvin

from .plan import TimeAxis
from .screening import Observations
from .store import publish_zarr

TIME_ENCODING = {"units": "seconds since 1970-01-01 00:00:00", "calendar": "standard"}
MAX_SPATIAL_CHUNK = 512
STEP_NOTES_ATTRS = {"long_name": "what a user must know about the step's field, one note a line"}


class OutputFormat(StrEnum):
    """The output's format (``auto``: by the suffix, ``.zarr`` or netCDF)."""

    auto = "auto"
    netcdf = "netcdf"
    zarr = "zarr"


def output_format(out: Path, chosen: OutputFormat = OutputFormat.auto) -> OutputFormat:
    if chosen is not OutputFormat.auto:
        return chosen
    return OutputFormat.zarr if out.suffix.lower() == ".zarr" else OutputFormat.netcdf


def _field_attrs(units: TemperatureUnit) -> dict[str, dict[str, Any]]:
    va = variable_attrs(units)
    return {
        "tas": va["tas"] | {"ancillary_variables": "tas_variance"},
        "tas_variance": va["tas_variance"],
        "in_domain": va["in_domain"],
        "n_stations": {
            "long_name": "stations used in the time step (duplicates merged); 0: missing step",
            "units": "1",
        },
    }


def template(
    grid: TargetGrid,
    axis: TimeAxis,
    obs: Observations,
    in_domain: NDArray[np.bool_],
    units: TemperatureUnit,
    chunk_steps: int,
    attrs: Mapping[str, Any],
) -> xr.Dataset:
    """The output as a dataset whose fields are lazy NaN (the workers fill them)."""
    fa, ca = _field_attrs(units), coordinate_attrs()
    ny, nx = grid.shape
    chunks = (chunk_steps, min(ny, MAX_SPATIAL_CHUNK), min(nx, MAX_SPATIAL_CHUNK))
    shape = (len(axis), ny, nx)
    fields = {
        name: (
            ("time", "lat", "lon"),
            da.full(shape, np.nan, dtype=np.float32, chunks=chunks),
            fa[name],
        )
        for name in ("tas", "tas_variance")
    }
    coords: dict[str, Any] = {
        "lat": ("lat", grid.lat, ca["lat"]),
        "lon": ("lon", grid.lon, ca["lon"]),
    }
    if axis.times is not None:
        coords["time"] = ("time", axis.times, {"standard_name": "time", "axis": "T"})
    obs_attrs = {"long_name": "observation used (duplicates merged)"}
    return xr.Dataset(
        {
            **fields,
            "n_stations": (("time",), obs.per_step(len(axis)), fa["n_stations"]),
            "in_domain": (("lat", "lon"), in_domain.astype(np.int8), fa["in_domain"]),
            "obs_lat": (("obs",), obs.lat, obs_attrs | ca["lat"]),
            "obs_lon": (("obs",), obs.lon, obs_attrs | ca["lon"]),
            "obs_tas": (
                ("obs",),
                from_kelvin(obs.value_k, units),
                obs_attrs | {"units": units.value, "standard_name": "air_temperature"},
            ),
            "obs_elevation": (
                ("obs",),
                obs.elevation_m,
                obs_attrs | {"units": "m", "standard_name": "surface_altitude"},
            ),
            "obs_station_id": (("obs",), obs.station_id.astype(object), obs_attrs),
            "obs_step": (("obs",), obs.step.astype(np.int32), {"long_name": "index into time"}),
        },
        coords=coords,
        attrs={"Conventions": CONVENTIONS, **attrs},
    )


def create_store(path: Path, ds: xr.Dataset) -> None:
    """Write the template's metadata, coordinates and small variables (not the fields)."""
    encoding: dict[str, Any] = {"tas": {}, "tas_variance": {}}
    if "time" in ds.coords:
        encoding["time"] = TIME_ENCODING | {"dtype": "int64"}
    ds.to_zarr(path, mode="w", compute=False, encoding=encoding, zarr_format=2, consolidated=True)


def finish(
    data: Path,
    out: Path,
    fmt: OutputFormat,
    attrs: Mapping[str, Any],
    side: tuple[Path, Path] | None = None,
    step_notes: NDArray[np.str_] | None = None,
) -> None:
    """Add ``attrs`` (and ``step_notes``, one string per step) and write the output from the
    completed store (module docstring); ``side`` (a file, its destination beside the output)
    is published with it: both are complete before either replaces an older one."""
    sides = [side[1]] if side else []
    if step_notes is not None:
        kept = dict(zarr.open_group(str(data), mode="r").attrs)  # appending writes attrs
        notes = xr.Dataset({"step_notes": (("time",), step_notes, STEP_NOTES_ATTRS)}, attrs=kept)
        notes.to_zarr(data, mode="a", zarr_format=2, consolidated=True)
    if fmt is OutputFormat.zarr:
        group = zarr.open_group(str(data), mode="r+")
        group.attrs.update(dict(attrs))
        zarr.consolidate_metadata(str(data))
        with atomic_paths(*sides) as tmps:
            _copy_side(side, tmps)
            publish_zarr(data, out)
        return
    with xr.open_zarr(data) as stored:
        extra: dict[str, dict[str, Any]] = {
            name: {"chunksizes": (1, *stored[name].shape[1:])} for name in ("tas", "tas_variance")
        }
        extra["obs_station_id"] = {"dtype": str}
        if "step_notes" in stored:
            extra["step_notes"] = {"dtype": str}
        if "time" in stored.coords:
            extra["time"] = TIME_ENCODING | {"dtype": "int64"}
        ds, encoding = netcdf_ready(stored.assign_attrs(dict(attrs)), extra)
        with atomic_paths(out, *sides) as tmps, dask.config.set(scheduler="synchronous"):
            ds.to_netcdf(tmps[0], engine="netcdf4", format="NETCDF4", encoding=encoding)
            _copy_side(side, tmps[1:])


def _copy_side(side: tuple[Path, Path] | None, tmps: list[Path]) -> None:
    if side is not None:
        shutil.copyfile(side[0], tmps[0])


def read_output(path: Path) -> xr.Dataset:
    """An output (netCDF or Zarr) opened lazily; :class:`DataError` if it cannot be read."""
    try:
        if path.is_dir():
            return xr.open_zarr(path)
        return xr.open_dataset(path)
    except (OSError, ValueError, KeyError, TypeError, zarr.errors.BaseZarrError) as e:
        raise DataError(f"{path}: cannot read as netCDF or Zarr ({one_line(e)})") from None
