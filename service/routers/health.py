"""Liveness (the process answers) and readiness (model loaded and warmed up).

Both are ``async`` and touch nothing but the app's state, so they run on the event loop
directly (not in the thread pool that request parsing and rendering use) and answer within
milliseconds whatever else is running.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ..schemas import Liveness, Readiness
from ..state import ServiceState

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Liveness)
async def healthz() -> Liveness:
    return Liveness()


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "not ready"}},
)
async def readyz(request: Request) -> JSONResponse:
    state: ServiceState = request.app.state.equigrid
    if state.ready and state.bundle is not None:
        return JSONResponse(Readiness(ready=True, model=state.bundle.name).model_dump())
    body = Readiness(ready=False, detail="model not loaded and warmed up")
    return JSONResponse(body.model_dump(), status_code=503)
