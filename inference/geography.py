"""Coastlines and country borders for maps, from data shipped with the package.

``data/countries-10m.json.gz`` is Natural Earth 1:10m (admin-0 countries and land, version
4.1.0) as TopoJSON from the npm package ``world-atlas`` 2.0.2 (public domain data, ISC
packaging; ``data/README.md``). :func:`world` decodes it once per process: coastlines are
the boundary arcs of the land object, borders the arcs shared by two countries;
:func:`lines_in` selects the polylines meeting a map's extent.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

DATA = Path(__file__).resolve().parent / "data"
WORLD = DATA / "countries-10m.json.gz"


@dataclass(frozen=True)
class _World:
    coast: list[NDArray[np.float64]]  # [n, 2] (lon, lat) polylines
    borders: list[NDArray[np.float64]]
    coast_box: NDArray[np.float64]  # [n_arcs, 4]: lon0, lon1, lat0, lat1
    border_box: NDArray[np.float64]


@cache
def world() -> _World:
    """Coastlines (the boundary arcs of Natural Earth's land) and country borders (arcs
    shared by two countries), decoded from the quantised, delta-encoded TopoJSON."""
    with gzip.open(WORLD, "rt", encoding="utf-8") as f:
        topo = json.load(f)
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        q = np.cumsum(np.asarray(arc, dtype=np.float64), axis=0)
        arcs.append(np.stack([q[:, 0] * sx + tx, q[:, 1] * sy + ty], axis=-1))

    def arc_ids(geoms: list[dict[str, Any]]) -> list[set[int]]:
        out = []
        for g in geoms:
            rings = g.get("arcs", [])
            polys = rings if g.get("type") == "MultiPolygon" else [rings]
            ids = {i if i >= 0 else ~i for poly in polys for ring in poly for i in ring}
            out.append(ids)
        return out

    coast_ids = set().union(*arc_ids(topo["objects"]["land"]["geometries"]))
    uses: dict[int, int] = {}
    for ids in arc_ids(topo["objects"]["countries"]["geometries"]):
        for i in ids:
            uses[i] = uses.get(i, 0) + 1
    border_ids = sorted(i for i, n in uses.items() if n >= 2 and i not in coast_ids)
    coast = [p for i in sorted(coast_ids) for p in _unwrapped(arcs[i])]
    borders = [p for i in border_ids for p in _unwrapped(arcs[i])]

    def boxes(lines: list[NDArray[np.float64]]) -> NDArray[np.float64]:
        return np.array(
            [[a[:, 0].min(), a[:, 0].max(), a[:, 1].min(), a[:, 1].max()] for a in lines]
        )

    return _World(coast, borders, boxes(coast), boxes(borders))


def _unwrapped(line: NDArray[np.float64]) -> list[NDArray[np.float64]]:
    """``line`` cut where it jumps across the antimeridian (179.9 -> -179.9), so no segment
    is drawn across the whole map when the map is shifted by 360 degrees."""
    jumps = np.flatnonzero(np.abs(np.diff(line[:, 0])) > 180.0) + 1
    return [p for p in np.split(line, jumps) if len(p) >= 2]


def lines_in(
    lines: list[NDArray[np.float64]], box: NDArray[np.float64], extent: Sequence[float]
) -> list[NDArray[np.float64]]:
    """Polylines meeting ``extent`` (west, east, south, north), shifted by 360 deg as needed
    (grids in 0..360 longitudes)."""
    west, east, south, north = extent
    out = []
    for shift in (-360.0, 0.0, 360.0):
        hit = (
            (box[:, 0] + shift <= east)
            & (box[:, 1] + shift >= west)
            & (box[:, 2] <= north)
            & (box[:, 3] >= south)
        )
        out += [lines[i] + [shift, 0.0] for i in np.flatnonzero(hit)]
    return out


def simplify(line: NDArray[np.float64], tol: float) -> NDArray[np.float64]:
    """``line`` without the points that stay within ``tol`` deg of the last kept one (on a
    ``tol`` lattice); the ends are kept."""
    if len(line) <= 2 or tol <= 0:
        return line
    cells = np.floor(line / tol)
    keep = np.ones(len(line), bool)
    keep[1:] = (cells[1:] != cells[:-1]).any(axis=1)
    keep[-1] = True
    return line[keep]
