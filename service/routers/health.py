"""Liveness (the process answers) and readiness (model loaded and warmed up)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from ..schemas import Liveness, Readiness
from ..state import ServiceState, get_state

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Liveness)
def healthz() -> Liveness:
    return Liveness()


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "not ready"}},
)
def readyz(state: ServiceState = Depends(get_state)) -> JSONResponse:
    if state.ready and state.bundle is not None:
        return JSONResponse(Readiness(ready=True, model=state.bundle.name).model_dump())
    body = Readiness(ready=False, detail="model not loaded and warmed up")
    return JSONResponse(body.model_dump(), status_code=503)
