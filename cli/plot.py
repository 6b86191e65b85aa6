"""``equigrid plot``: a map of one time step of a batch output, or one station's series.

``equigrid plot grid.nc --time 1995-03-18T12:00 [--var tas|tas_std] --out map.png`` draws the
step (coastlines and borders, lat/lon ticks, the time, stations coloured by their value on
the field's scale, cells outside the trained domain marked); ``--station ID`` draws that
station's observations against the gridded value at its position. The data are chosen by
:mod:`pipelines.batch.views`; the drawing is the shared renderer (:mod:`inference.maps`,
which the service's PNG maps use too, and :mod:`inference.series`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from inference.errors import EquigridError
from inference.files import atomic_path
from inference.maps import GriddedMap, StationsOnMap, render_map
from inference.series import render_station_series
from pipelines.batch.output import read_output
from pipelines.batch.views import MapVariable, map_view, station_series


def plot(
    output: Annotated[Path, typer.Argument(help="a batch output (netCDF or Zarr)")],
    time: Annotated[str | None, typer.Option(help="the time step to map (ISO 8601, UTC)")] = None,
    var: Annotated[
        MapVariable, typer.Option(help="the mean, or its standard deviation")
    ] = MapVariable.tas,
    station: Annotated[
        str | None, typer.Option(help="draw this station's series instead of a map")
    ] = None,
    out: Annotated[Path, typer.Option(help="the PNG to write")] = Path("map.png"),
) -> None:
    """Draw a map of one time step of a batch output, or a station's series (--station)."""
    if not output.exists():
        raise EquigridError(f"output not found: {output}")
    with read_output(output) as ds:
        if station is not None:
            s = station_series(ds, station)
            png = render_station_series(
                s.times,
                s.observed,
                s.gridded,
                s.units,
                station=s.station,
                gridded_std=s.gridded_std,
            )
        else:
            v = map_view(ds, time, var)
            shown = (
                v.station_value if var is MapVariable.tas else np.full_like(v.station_value, np.nan)
            )
            png = render_map(
                GriddedMap(
                    lat=v.lat,
                    lon=v.lon,
                    mean=v.mean,
                    std=v.std if var is MapVariable.tas_std else None,
                    in_domain=v.in_domain,
                    units=v.units,
                    time=None if v.time is None else v.time.to_pydatetime(),
                    stations=StationsOnMap(v.station_lat, v.station_lon, shown),
                    notes=v.notes,
                    title=v.title,
                ),
            )
    with atomic_path(out) as tmp:  # 0644, and only when complete
        tmp.write_bytes(png)
    typer.echo(f"wrote {out}")
