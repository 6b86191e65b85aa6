"""What ``equigrid plot`` draws, taken from a batch output alone (netCDF or Zarr).

:func:`map_view` picks one time step and one variable (``tas``, or ``tas_std``, the square root
of ``tas_variance``), the stations the model saw then with their values, the cells outside
the model's trained domain, the step's notes (``step_notes``: what the service's map would
say) and the output's warnings; :func:`station_series` picks one
station's observations over the whole record and the gridded mean and standard deviation
at its position (bilinear between the cells), so that the two can be compared. Drawing is
the shared map renderer's job (``inference.maps``, used by the service's PNG maps too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import NDArray

from inference.errors import DataError, EquigridError

# what every batch output holds (pipelines.batch.output); anything else is not one
OUTPUT_VARIABLES = ("tas", "tas_variance", "n_stations", "in_domain", "obs_lat", "obs_lon",
                    "obs_tas", "obs_station_id", "obs_step")  # fmt: skip


class MapVariable(StrEnum):
    """What a map shows: the mean (``tas``) or its standard deviation (``tas_std``)."""

    tas = "tas"
    tas_std = "tas_std"


@dataclass(frozen=True)
class MapView:
    """One step of an output: ``mean`` and ``std`` are ``[n_lat, n_lon]`` in ``units``."""

    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    mean: NDArray[np.float64]
    std: NDArray[np.float64]
    variable: MapVariable
    in_domain: NDArray[np.bool_]
    units: str
    time: pd.Timestamp | None
    station_lat: NDArray[np.float64]
    station_lon: NDArray[np.float64]
    station_value: NDArray[np.float64]
    notes: list[str] = field(default_factory=list)
    title: str = "equigrid"

    @property
    def values(self) -> NDArray[np.float64]:
        """The field the map shows."""
        return self.mean if self.variable is MapVariable.tas else self.std


@dataclass(frozen=True)
class StationSeries:
    """One station's observed values and the gridded mean and std at its position."""

    station: str
    lat: float
    lon: float
    times: NDArray[np.datetime64]
    observed: NDArray[np.float64]  # NaN where the station has no observation
    gridded: NDArray[np.float64]
    gridded_std: NDArray[np.float64]
    units: str


def check_output(ds: xr.Dataset, source: object) -> xr.Dataset:
    """``ds`` if it is a batch output (``equigrid grid``'s variables and dims), else a
    :class:`DataError` naming what is missing."""
    missing = [v for v in OUTPUT_VARIABLES if v not in ds.variables]
    dims_ok = not missing and ds["tas"].dims == ("time", "lat", "lon")
    if missing or not dims_ok:
        what = f"no {', '.join(missing)}" if missing else "tas is not (time, lat, lon)"
        raise DataError(f"{source} is not an equigrid grid output ({what})")
    return ds


def default_plot_path(output: Path, time: str | None, station: str | None, var: str) -> Path:
    """The PNG when ``--out`` is not given, in the current directory (as ``grid``'s default
    output: never into a folder that may not be the user's): ``runs/grid.nc`` ->
    ``grid.tas.20190327T0300.png`` (or ``grid.station-MAN.png``)."""
    if station is not None:
        what = "station-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in station)
    else:
        when = "" if time is None else "." + "".join(c for c in time if c.isalnum())
        what = f"{var}{when}"
    return Path(f"{output.stem}.{what}.png")


def _title(ds: xr.Dataset) -> str:
    return f"equigrid {ds.attrs.get('model_name', '')} {ds.attrs.get('model_version', '')}"


def step_of(ds: xr.Dataset, time: str | None) -> int:
    """The index of ``time`` (ISO 8601, UTC) on the output's time axis."""
    n = ds.sizes["time"]
    if "time" not in ds.coords:
        if time is not None:
            raise EquigridError("this output has no time axis: leave out --time")
        return 0
    times = pd.DatetimeIndex(ds.time.values)
    if time is None:
        if n == 1:
            return 0
        raise EquigridError(f"give --time: the output has {_span(times)}")
    try:
        t = pd.Timestamp(time)
    except ValueError:
        raise EquigridError(f"--time {time!r} is not a time (ISO 8601, UTC)") from None
    t = t.tz_convert("UTC").tz_localize(None) if t.tzinfo else t
    where = np.flatnonzero(times == t)
    if not len(where):
        raise EquigridError(f"--time {time} is not a step of the output ({_span(times)})")
    return int(where[0])


def _span(times: pd.DatetimeIndex) -> str:
    return f"{times[0]:%Y-%m-%dT%H:%M} to {times[-1]:%Y-%m-%dT%H:%M}, {len(times)} steps"


def map_view(ds: xr.Dataset, time: str | None, variable: MapVariable) -> MapView:
    """The map of one step (module docstring); a step without stations is an error."""
    i = step_of(ds, time)
    if int(ds.n_stations.values[i]) == 0:
        raise EquigridError(f"step {time} has no stations: it was not gridded (missing)")
    at = ds.obs_step.values == i
    notes = [f"{int(ds.n_stations.values[i])} stations"]
    if "step_notes" in ds and str(ds.step_notes.values[i]):  # as the service's map says
        notes += str(ds.step_notes.values[i]).split("\n")
    cells = str(ds.attrs.get("cell_elevations", ""))
    if cells:  # every case (a DEM, partly, none, no --dem): the map says what the model saw
        notes.append(cells if cells.startswith("cell elevations") else f"cell elevations: {cells}")
    if ds.attrs.get("warnings"):
        notes.append(str(ds.attrs["warnings"]))
    return MapView(
        lat=ds.lat.values,
        lon=ds.lon.values,
        mean=ds.tas.values[i].astype(np.float64),
        std=np.sqrt(ds.tas_variance.values[i].astype(np.float64)),
        variable=variable,
        in_domain=ds.in_domain.values.astype(bool),
        units=str(ds.tas.attrs.get("units", "")),
        time=pd.Timestamp(ds.time.values[i]) if "time" in ds.coords else None,
        station_lat=ds.obs_lat.values[at],
        station_lon=ds.obs_lon.values[at],
        station_value=ds.obs_tas.values[at].astype(np.float64),
        notes=notes,
        title=_title(ds),
    )


def station_series(ds: xr.Dataset, station: str) -> StationSeries:
    """A station's series against the grid at its (first) position."""
    ids = ds.obs_station_id.values.astype(str)
    mine = np.flatnonzero(ids == station)
    if not len(mine):
        known = ", ".join(sorted(set(ids.tolist()))[:8])
        raise EquigridError(f"no station {station!r} in this output (stations: {known}, ...)")
    lat, lon = float(ds.obs_lat.values[mine[0]]), float(ds.obs_lon.values[mine[0]])
    if not (ds.lat.min() <= lat <= ds.lat.max() and ds.lon.min() <= lon <= ds.lon.max()):
        raise EquigridError(f"station {station} at ({lat:g}, {lon:g}) lies outside the grid")
    n = ds.sizes["time"]
    observed = np.full(n, np.nan)
    observed[ds.obs_step.values[mine]] = ds.obs_tas.values[mine]
    at: dict[str, Any] = {"lat": lat, "lon": lon}
    return StationSeries(
        station=station,
        lat=lat,
        lon=lon,
        times=ds.time.values if "time" in ds.coords else np.full(n, np.datetime64("NaT", "ns")),
        observed=observed,
        gridded=ds.tas.interp(at).values.astype(np.float64),
        gridded_std=np.sqrt(ds.tas_variance.interp(at).values.astype(np.float64)),
        units=str(ds.tas.attrs.get("units", "")),
    )
