"""``equigrid plot``: a map of one time step of a batch output, or one station's series.

``equigrid plot grid.nc --time 1995-03-18T12:00 [--var tas|tas_std] [--out map.png]`` draws the
step (coastlines and borders, lat/lon ticks, the time, stations coloured by their value on
the field's scale, cells outside the trained domain marked); ``--station ID`` draws that
station's observations against the gridded value at its position (``--time`` marks a step).
Without ``--out`` the PNG goes to the current directory, named after the output and what
it shows; a file already there is replaced and the message says so. The data are chosen by
:mod:`pipelines.batch.views`; the drawing is the shared renderer (:mod:`inference.maps`,
which the service's PNG maps use too, and :mod:`inference.series`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
import xarray as xr

from inference.errors import EquigridError
from inference.files import atomic_path
from inference.maps import GriddedMap, StationsOnMap, render_map
from inference.series import render_station_series
from pipelines.batch.output import read_output
from pipelines.batch.views import (
    MapVariable,
    check_output,
    default_plot_path,
    map_view,
    station_series,
    step_of,
)


def plot(
    output: Annotated[Path, typer.Argument(help="a batch output (netCDF or Zarr)")],
    time: Annotated[
        str | None,
        typer.Option(help="the time step to map (ISO 8601, UTC); with --station, marked"),
    ] = None,
    var: Annotated[
        MapVariable,
        typer.Option(help="tas: the mean; tas_std: the mean and its standard deviation beside it"),
    ] = MapVariable.tas,
    station: Annotated[
        str | None, typer.Option(help="draw this station's series instead of a map")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="the PNG to write (default: in the current directory, named after OUTPUT "
            "and the view)"
        ),
    ] = None,
) -> None:
    """Draw a map of one time step of a batch output, or a station's series (--station)."""
    if not output.exists():
        raise EquigridError(f"output not found: {output}")
    with read_output(output) as opened:
        ds = check_output(opened, output)
        png = _series(ds, station, time) if station is not None else _map(ds, time, var)
    out = out or default_plot_path(output, time, station, var.value)
    replaced = out.exists()
    with atomic_path(out) as tmp:  # 0644, and only when complete
        tmp.write_bytes(png)
    typer.echo(f"wrote {out}" + (" (replaced the file that was there)" if replaced else ""))


def _series(ds: xr.Dataset, station: str, time: str | None) -> bytes:
    s = station_series(ds, station)
    mark = None if time is None else pd.Timestamp(ds.time.values[step_of(ds, time)])
    return render_station_series(
        s.times,
        s.observed,
        s.gridded,
        s.units,
        station=s.station,
        gridded_std=s.gridded_std,
        mark=None if mark is None else mark.to_pydatetime(),
    )


def _map(ds: xr.Dataset, time: str | None, var: MapVariable) -> bytes:
    v = map_view(ds, time, var)
    return render_map(
        GriddedMap(
            lat=v.lat,
            lon=v.lon,
            mean=v.mean,
            std=v.std if var is MapVariable.tas_std else None,
            in_domain=v.in_domain,
            units=v.units,
            time=None if v.time is None else v.time.to_pydatetime(),
            # observed values, on the mean's scale; the std panel marks the positions
            stations=StationsOnMap(v.station_lat, v.station_lon, v.station_value),
            notes=v.notes,
            title=v.title,
        ),
    )
