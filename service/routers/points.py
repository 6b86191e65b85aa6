"""``POST /v1/points``: stations in, predictions at arbitrary target points out (the call
for cross-validation); JSON or a NumPy ``.npz`` of float32 arrays."""

from __future__ import annotations

import time

import numpy as np
from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from .. import render
from ..body import parse
from ..errors import ERROR_RESPONSES
from ..predict import JSON, NPZ, negotiate, prediction_fields, run, timing
from ..schemas import PointsRequest, PointsResponse
from ..state import Ready, get_ready

router = APIRouter(prefix="/v1", tags=["points"])


@router.post(
    "/points",
    response_class=Response,
    openapi_extra={"x-equigrid-body": "PointsRequest"},
    responses={
        200: {
            "model": PointsResponse,
            "description": "JSON by default; a NumPy .npz of float32 arrays by Accept",
            "content": {NPZ: {}},
        },
        **ERROR_RESPONSES,
    },
)
async def points(request: Request, ready: Ready = Depends(get_ready)) -> Response:
    start = time.perf_counter()
    media = negotiate(request.headers.get("accept"), [JSON, NPZ])
    body = await parse(request, PointsRequest, ready.settings)
    t_lat = np.array([t.lat for t in body.targets], dtype=np.float64)
    t_lon = np.array([t.lon for t in body.targets], dtype=np.float64)
    t_elev = np.array(
        [np.nan if t.elevation_m is None else t.elevation_m for t in body.targets], np.float64
    )
    stations = body.station_set()
    out = await run(ready, stations, t_lat, t_lon, t_elev, body.equivariant_only)
    fields = prediction_fields(ready, out, body, request.state.request_id)
    fields |= {"lat": t_lat, "lon": t_lon, "id": [t.id for t in body.targets]}
    if media == NPZ:
        return Response(await run_in_threadpool(render.to_npz, fields), media_type=NPZ)
    fields["timing_ms"] = timing(start, model=out.model_ms)
    return Response(await run_in_threadpool(render.to_json, fields), media_type=JSON)
