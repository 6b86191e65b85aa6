"""``POST /v1/grid``: stations in, a gridded mean and variance out (JSON, netCDF or PNG)."""

from __future__ import annotations

import time

import numpy as np
from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from .. import render
from ..errors import ERROR_RESPONSES
from ..predict import JSON, NETCDF, PNG, check_counts, negotiate, prediction_fields, run
from ..schemas import GridRequest, GridResponse
from ..state import Ready, get_ready, require_api_key

router = APIRouter(prefix="/v1", tags=["grid"], dependencies=[Depends(require_api_key)])


@router.post(
    "/grid",
    response_class=Response,
    responses={
        200: {
            "model": GridResponse,
            "description": "JSON by default; CF-1.10 netCDF or a PNG map by Accept",
            "content": {NETCDF: {}, PNG: {}},
        },
        **ERROR_RESPONSES,
    },
)
async def grid(body: GridRequest, request: Request, ready: Ready = Depends(get_ready)) -> Response:
    start = time.perf_counter()
    media = negotiate(request.headers.get("accept"), [JSON, NETCDF, PNG])
    check_counts(ready, len(body.stations), body.grid.num_cells(), "grid")
    lat, lon = body.grid.axes()
    t_lat, t_lon = np.meshgrid(lat, lon, indexing="ij")
    stations = body.station_set()
    pred, model_ms = await run(ready, stations, t_lat, t_lon, None, body.equivariant_only)
    result = GridResponse.model_construct(
        **prediction_fields(ready, pred, body, request.state.request_id),
        lat=lat.tolist(),
        lon=lon.tolist(),
        timing_ms={"model": model_ms},
    )
    render_start = time.perf_counter()
    if media == NETCDF:
        content = await run_in_threadpool(render.to_netcdf, result)
    elif media == PNG:
        content = await run_in_threadpool(render.to_png, result, stations)
    else:
        result.timing_ms["total"] = 1000 * (time.perf_counter() - start)
        return Response(result.model_dump_json(), media_type=JSON)
    timing = {
        "model": model_ms,
        "render": 1000 * (time.perf_counter() - render_start),
        "total": 1000 * (time.perf_counter() - start),
    }
    headers = {"X-Timing-Ms": ", ".join(f"{k}={v:.1f}" for k, v in timing.items())}
    return Response(content, media_type=media, headers=headers)
