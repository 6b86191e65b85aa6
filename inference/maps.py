"""The one map renderer: a gridded prediction (mean and standard deviation) as a PNG.

Shared by the service's ``image/png`` responses and the batch ``equigrid plot`` command.
Maps are drawn in plain latitude/longitude (equirectangular, with the aspect of the map's
mid-latitude) with matplotlib alone: lat/lon ticks, the valid time, units on the colour
bars, stations coloured by value on the mean's colour scale, out-of-domain cells hatched,
the request's notes under the panels, and coastlines and country borders from Natural
Earth 1:10m (:mod:`inference.geography`); nothing is downloaded at run time.

:func:`render_map` draws a :class:`GriddedMap`; :func:`inference.series.render_station_series`
draws one station's observed series against the gridded value at its location
(``plot --station``) in the same style.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .coords import wrap_into
from .geography import lines_in, simplify, world

WIDTH_IN = 12.0
DPI = 100


@dataclass(frozen=True)
class StationsOnMap:
    """Stations to draw: positions (deg) and values in the map's units (NaN: no value)."""

    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    value: NDArray[np.float64]


@dataclass(frozen=True)
class GriddedMap:
    """One gridded prediction: ``[n_lat, n_lon]`` fields on ascending 1-D axes."""

    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    mean: NDArray[np.float64]
    std: NDArray[np.float64] | None = None
    in_domain: NDArray[np.bool_] | None = None
    units: str = "degC"
    time: datetime | str | None = None
    stations: StationsOnMap | None = None
    notes: Sequence[str] = field(default_factory=tuple)
    title: str = "equigrid"


def _edges(axis: NDArray[np.float64]) -> NDArray[np.float64]:
    """Cell edges of a 1-D axis of cell centres."""
    if len(axis) == 1:
        return np.array([axis[0] - 0.5, axis[0] + 0.5])
    mid = (axis[1:] + axis[:-1]) / 2
    return np.concatenate([[2 * axis[0] - mid[0]], mid, [2 * axis[-1] - mid[-1]]])


def _extent(m: GriddedMap) -> list[float]:
    """[west, east, south, north]: the grid's cells plus the stations near them."""
    le, ae = _edges(m.lon), _edges(m.lat)
    west, east, south, north = le[0], le[-1], ae[0], ae[-1]
    pad_x, pad_y = 0.02 * (east - west), 0.02 * (north - south)
    return [west - pad_x, east + pad_x, max(-90.0, south - pad_y), min(90.0, north + pad_y)]


def _deg(value: float, pos: str, neg: str) -> str:
    hemi = pos if value > 0 else neg if value < 0 else ""
    text = f"{abs(value):.2f}".rstrip("0").rstrip(".")
    return f"{text}°{hemi}"


def _time_text(t: datetime | str | None) -> str:
    if t is None:
        return "time not given"
    if isinstance(t, str):
        return t
    offset = t.utcoffset()
    if offset is None or not offset:  # naive times are taken as UTC
        return t.strftime("%Y-%m-%d %H:%M UTC")
    return t.isoformat(timespec="minutes")


def _panel(
    fig: Any,
    ax: Any,
    m: GriddedMap,
    values: NDArray[np.float64],
    label: str,
    cmap: str,
    extent: list[float],
    stations_coloured: bool,
) -> None:
    from matplotlib import colors

    finite = values[np.isfinite(values)]
    vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if stations_coloured and m.stations is not None:
        near = _stations_near(m.stations, extent)
        sv = m.stations.value[near]
        sv = sv[np.isfinite(sv)]
        if sv.size:
            vmin, vmax = min(vmin, float(sv.min())), max(vmax, float(sv.max()))
    if vmax <= vmin:
        vmin, vmax = vmin - 0.5, vmax + 0.5
    norm = colors.Normalize(vmin, vmax)
    mesh = ax.pcolormesh(_edges(m.lon), _edges(m.lat), values, cmap=cmap, norm=norm)
    if m.in_domain is not None and not m.in_domain.all():
        _hatch(ax, m.lon, m.lat, ~np.asarray(m.in_domain, bool))
    _geography(ax, extent)
    if m.stations is not None:  # those on the map, in its longitude frame
        s, on = m.stations, _stations_near(m.stations, extent)
        s_lon, s_lat = _station_lon(s, extent)[on], s.lat[on]
        if stations_coloured:
            ax.scatter(
                s_lon,
                s_lat,
                c=s.value[on],
                cmap=cmap,
                norm=norm,
                s=28,
                marker="o",
                edgecolors="black",
                linewidths=0.7,
                zorder=4,
            )
        else:
            ax.scatter(s_lon, s_lat, s=10, c="black", marker="^", zorder=4, linewidths=0)
    _axes(ax, extent)
    ax.set_title(label, fontsize=11)
    fig.colorbar(mesh, ax=ax, shrink=0.9, pad=0.02, label=label)


def _hatch(ax: Any, lon: NDArray[np.float64], lat: NDArray[np.float64], mask: NDArray[Any]) -> None:
    """Hatch the cells where ``mask`` is true, along cell edges, in one vector path: the
    mask is sampled just inside both edges of every cell and contoured at 0.5."""

    def sides(axis: NDArray[np.float64]) -> NDArray[np.float64]:
        e = _edges(axis)
        eps = 1e-6 * max(1.0, float(np.ptp(e)))
        return np.stack([e[:-1] + eps, e[1:] - eps], -1).ravel()

    z = np.repeat(np.repeat(mask.astype(np.float64), 2, axis=0), 2, axis=1)
    cs = ax.contourf(sides(lon), sides(lat), z, levels=[0.5, 1.5], colors="none", hatches=["//"])
    cs.set_edgecolor((0, 0, 0, 0.35))  # the hatch colour; the outline itself is not drawn
    cs.set_linewidth(0)


def _station_lon(s: StationsOnMap, extent: list[float]) -> NDArray[np.float64]:
    """The stations' longitudes in the map's frame (a map over 170 E..165 W has 188.2, not
    -171.8)."""
    return wrap_into(s.lon, extent[0] - (360.0 - (extent[1] - extent[0])) / 2)


def _stations_near(s: StationsOnMap, extent: list[float]) -> NDArray[np.bool_]:
    west, east, south, north = extent
    lon = _station_lon(s, extent)
    return (lon >= west) & (lon <= east) & (s.lat >= south) & (s.lat <= north)


def _geography(ax: Any, extent: list[float]) -> None:
    from matplotlib.collections import LineCollection

    w = world()
    span = max(extent[1] - extent[0], extent[3] - extent[2])
    lw = 0.9 if span < 30 else 0.6
    tol = span / 2000  # about a third of a pixel: finer detail cannot show
    coast = [simplify(a, tol) for a in lines_in(w.coast, w.coast_box, extent)]
    borders = [simplify(a, tol) for a in lines_in(w.borders, w.border_box, extent)]
    ax.add_collection(LineCollection(coast, colors="black", linewidths=lw, zorder=3))
    ax.add_collection(
        LineCollection(
            borders, colors="black", linewidths=0.6 * lw, linestyles=(0, (4, 2)), zorder=3
        )
    )


def _axes(ax: Any, extent: list[float]) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    west, east, south, north = extent
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    mid = math.radians(max(-80.0, min(80.0, (south + north) / 2)))
    ax.set_aspect(1 / math.cos(mid))
    ax.xaxis.set_major_locator(MaxNLocator(6, steps=[1, 2, 2.5, 5, 10]))
    ax.yaxis.set_major_locator(MaxNLocator(6, steps=[1, 2, 2.5, 5, 10]))
    ax.xaxis.set_major_formatter(
        FuncFormatter(lambda v, _: _deg(((v + 180) % 360) - 180, "E", "W"))
    )
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _deg(v, "N", "S")))
    ax.tick_params(labelsize=8)
    ax.grid(color="white", alpha=0.4, linewidth=0.5)


def _figure_height(extent: list[float], panels: int) -> float:
    west, east, south, north = extent
    mid = math.radians(max(-80.0, min(80.0, (south + north) / 2)))
    aspect = (north - south) / max(1e-9, (east - west) * math.cos(mid))
    panel_w = (WIDTH_IN - 1.3 * panels) / panels
    return float(min(14.0, max(2.5, panel_w * aspect + 0.8)))


def render_map(m: GriddedMap, out: str | Path | None = None, *, dpi: int = DPI) -> bytes:
    """The map as PNG bytes (also written to ``out`` when given)."""
    from matplotlib.artist import Artist
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    panels = [(m.mean, f"mean ({m.units})", "RdYlBu_r", True)]
    if m.std is not None:
        panels.append((m.std, f"standard deviation ({m.units})", "viridis", False))
    extent = _extent(m)
    notes = "\n".join(textwrap.fill(n, 170) for n in m.notes)
    map_h = _figure_height(extent, len(panels))
    foot_h = 0.35 + 0.16 * (notes.count("\n") + 1 if notes else 0)
    fig = Figure(figsize=(WIDTH_IN, map_h + foot_h), dpi=dpi, layout="constrained")
    top, foot = np.asarray(fig.subfigures(2, 1, height_ratios=[map_h, foot_h])).ravel()
    axes = top.subplots(1, len(panels), squeeze=False)[0]
    for ax, (values, label, cmap, coloured) in zip(axes, panels, strict=True):
        _panel(top, ax, m, np.asarray(values, np.float64), label, cmap, extent, coloured)
    top.suptitle(f"{m.title} — {_time_text(m.time)}", fontsize=12)
    handles: list[Artist] = []
    if m.in_domain is not None and not m.in_domain.all():
        handles.append(
            Patch(
                facecolor="none",
                edgecolor="0.3",
                hatch="//",
                label="outside the trained domain (equivariant component only)",
            )
        )
    if m.stations is not None:
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                color="none",
                markerfacecolor="0.7",
                markeredgecolor="black",
                label="station, coloured by its value",
            )
        )
    if handles:
        foot.legend(handles=handles, loc="upper left", fontsize=8, frameon=False, ncols=2)
    if notes:
        foot.text(0.01, 0.0, notes, fontsize=7.5, va="bottom", ha="left", color="0.15")
    return png_bytes(fig, out, dpi)


def png_bytes(fig: Any, out: str | Path | None, dpi: int) -> bytes:
    import matplotlib as mpl

    buf = io.BytesIO()
    with mpl.rc_context({"hatch.color": (0, 0, 0, 0.3), "hatch.linewidth": 0.5}):
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.06)
    data = buf.getvalue()
    if out is not None:
        Path(out).write_bytes(data)
    return data
