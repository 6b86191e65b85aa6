"""``POST /v1/grid``: stations in, a gridded mean and variance out (JSON, netCDF, ``.npz``
of float32 arrays, or a PNG map)."""

from __future__ import annotations

import time

import numpy as np
from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from .. import render
from ..body import parse
from ..errors import ERROR_RESPONSES, TooLarge
from ..predict import JSON, NETCDF, NPZ, PNG, negotiate, prediction_fields, run, timing
from ..schemas import GridRequest, GridResponse
from ..state import Ready, get_ready

router = APIRouter(prefix="/v1", tags=["grid"])
MEDIA = [JSON, NETCDF, NPZ, PNG]


@router.post(
    "/grid",
    response_class=Response,
    openapi_extra={"x-equigrid-body": "GridRequest"},
    responses={
        200: {
            "model": GridResponse,
            "description": "JSON by default; by Accept: CF-1.10 netCDF, a NumPy .npz of "
            "float32 arrays (mean, variance, in_domain, lat, lon, units, notes), or a PNG map",
            "content": {NETCDF: {}, NPZ: {}, PNG: {}},
        },
        **ERROR_RESPONSES,
    },
)
async def grid(request: Request, ready: Ready = Depends(get_ready)) -> Response:
    start = time.perf_counter()
    media = negotiate(request.headers.get("accept"), MEDIA)
    body = await parse(request, GridRequest, ready.settings)
    cells = body.grid.num_cells()
    if cells > ready.settings.max_grid_cells:
        raise TooLarge(
            ("body", "grid"),
            f"{cells:.0f} grid cells; at most {ready.settings.max_grid_cells} allowed "
            "(max_grid_cells)",
        )
    lat, lon = body.grid.axes()
    t_lat, t_lon = np.meshgrid(lat, lon, indexing="ij")
    stations = body.station_set()
    out = await run(
        ready,
        stations,
        t_lat,
        t_lon,
        body.elevation_array(),
        body.equivariant_only,
        grid=(lat, lon),
    )
    fields = prediction_fields(ready, out, body, request.state.request_id)
    fields |= {"lat": lat, "lon": lon}
    render_start = time.perf_counter()
    if media == JSON:
        fields["timing_ms"] = timing(start, model=out.model_ms)
        return Response(await run_in_threadpool(render.to_json, fields), media_type=JSON)
    if media == NETCDF:
        content = await run_in_threadpool(render.to_netcdf, fields)
    elif media == NPZ:
        content = await run_in_threadpool(render.to_npz, fields)
    else:
        content = await run_in_threadpool(render.to_png, fields, stations)
    parts = timing(start, model=out.model_ms, render=1000 * (time.perf_counter() - render_start))
    headers = {"X-Timing-Ms": ", ".join(f"{k}={v:.1f}" for k, v in parts.items())}
    return Response(content, media_type=media, headers=headers)
