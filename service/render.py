"""Grid results as CF-1.10 netCDF bytes or as a PNG map (mean and standard deviation)."""

from __future__ import annotations

import io
import logging
import os
import tempfile
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from inference.cf import cf_dataset
from inference.stations import Stations
from inference.targets import TargetGrid

from .schemas import GridResponse

COASTLINES = Path(__file__).resolve().parent / "data" / "GSHHS_c_L1.shp"
PNG_SIZE_IN = (12.0, 5.0)
PNG_DPI = 100


def to_netcdf(g: GridResponse) -> bytes:
    """The grid as a CF-1.10 netCDF4 file: ``tas``, ``tas_variance``, ``in_domain``."""
    grid = TargetGrid.from_axes(g.lat, g.lon)
    ds = cf_dataset(
        grid,
        np.asarray(g.mean, np.float64),
        np.asarray(g.variance, np.float64),
        np.asarray(g.in_domain, bool),
        g.units,
        attrs={
            "title": "equigrid gridded near-surface air temperature",
            "source": f"equigrid model {g.model.name} {g.model.version} sha256 {g.model.sha256}",
            "history": f"{datetime.now(UTC).isoformat(timespec='seconds')} equigrid service, "
            f"request {g.request_id}",
            "comment": "; ".join(g.notes),
        },
    )
    if g.time is not None:
        t = g.time if g.time.tzinfo else g.time.replace(tzinfo=UTC)
        seconds = t.timestamp()
        ds = ds.assign_coords(
            time=(
                (),
                seconds,
                {
                    "standard_name": "time",
                    "units": "seconds since 1970-01-01 00:00:00 UTC",
                    "calendar": "standard",
                },
            )
        )
        for v in ("tas", "tas_variance"):
            ds[v].attrs["coordinates"] = "time"
    fd, tmp = tempfile.mkstemp(suffix=".nc")
    os.close(fd)
    try:
        encoding: dict[str, Any] = {str(v): {"zlib": True, "complevel": 4} for v in ds.data_vars}
        ds.to_netcdf(tmp, engine="netcdf4", format="NETCDF4", encoding=encoding)
        return Path(tmp).read_bytes()
    finally:
        os.unlink(tmp)


@cache
def _coastlines() -> list[Any]:
    from cartopy.io.shapereader import Reader

    # pyshp warns about a few GSHHS polygons made only of holes; they draw correctly
    shp_log = logging.getLogger("shapefile")
    level = shp_log.level
    shp_log.setLevel(logging.ERROR)
    try:
        return list(Reader(str(COASTLINES)).geometries())
    finally:
        shp_log.setLevel(level)


def _extent(lat: NDArray[np.float64], lon: NDArray[np.float64]) -> list[float]:
    """[west, east, south, north] around the grid, at least 1 degree wide, within the globe."""
    half = [max(0.5, 0.05 * float(np.ptp(a))) for a in (lon, lat)]
    return [
        max(-180.0, float(lon.min()) - half[0]),
        min(360.0, float(lon.max()) + half[0]),
        max(-90.0, float(lat.min()) - half[1]),
        min(90.0, float(lat.max()) + half[1]),
    ]


def to_png(g: GridResponse, stations: Stations) -> bytes:
    """Two map panels, mean and standard deviation, stations drawn on both, coastlines."""
    import cartopy.crs as ccrs
    from matplotlib.figure import Figure

    lat, lon = np.asarray(g.lat), np.asarray(g.lon)
    fig = Figure(figsize=PNG_SIZE_IN, dpi=PNG_DPI, layout="constrained")
    crs = ccrs.PlateCarree()
    panels = (
        (np.asarray(g.mean), f"mean ({g.units})", "RdYlBu_r"),
        (np.sqrt(np.asarray(g.variance)), f"standard deviation ({g.units})", "viridis"),
    )
    for i, (field, label, cmap) in enumerate(panels):
        ax: Any = fig.add_subplot(1, 2, i + 1, projection=crs)
        mesh = ax.pcolormesh(lon, lat, field, cmap=cmap, shading="nearest", transform=crs)
        ax.add_geometries(_coastlines(), crs, facecolor="none", edgecolor="black", linewidth=0.6)
        ax.scatter(stations.lon, stations.lat, s=8, c="k", marker="^", transform=crs)
        ax.set_extent(_extent(lat, lon), crs=crs)
        ax.set_title(label)
        fig.colorbar(mesh, ax=ax, shrink=0.8, label=label)
    fig.suptitle(f"equigrid {g.model.name} {g.model.version}")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
