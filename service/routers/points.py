"""``POST /v1/points``: stations in, predictions at arbitrary target points out (the call
for cross-validation)."""

from __future__ import annotations

import time

import numpy as np
from fastapi import APIRouter, Depends, Request, Response

from ..errors import ERROR_RESPONSES
from ..predict import JSON, check_counts, negotiate, prediction_fields, run
from ..schemas import PointsRequest, PointsResponse
from ..state import Ready, get_ready, require_api_key

router = APIRouter(prefix="/v1", tags=["points"], dependencies=[Depends(require_api_key)])


@router.post(
    "/points",
    response_class=Response,
    responses={200: {"model": PointsResponse}, **ERROR_RESPONSES},
)
async def points(
    body: PointsRequest, request: Request, ready: Ready = Depends(get_ready)
) -> Response:
    start = time.perf_counter()
    negotiate(request.headers.get("accept"), [JSON])
    check_counts(ready, len(body.stations), len(body.targets), "targets")
    t_lat = np.array([t.lat for t in body.targets], dtype=np.float64)
    t_lon = np.array([t.lon for t in body.targets], dtype=np.float64)
    t_elev = np.array(
        [np.nan if t.elevation_m is None else t.elevation_m for t in body.targets], np.float64
    )
    stations = body.station_set()
    pred, model_ms = await run(ready, stations, t_lat, t_lon, t_elev, body.equivariant_only)
    result = PointsResponse.model_construct(
        **prediction_fields(ready, pred, body, request.state.request_id),
        lat=t_lat.tolist(),
        lon=t_lon.tolist(),
        id=[t.id for t in body.targets],
        timing_ms={"model": model_ms, "total": 1000 * (time.perf_counter() - start)},
    )
    return Response(result.model_dump_json(), media_type=JSON)
