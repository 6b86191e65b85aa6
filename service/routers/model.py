"""``GET /v1/model``: what is being served."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from ..errors import ERROR_RESPONSES
from ..schemas import ModelDescription
from ..state import Ready, get_ready, require_api_key

router = APIRouter(prefix="/v1", tags=["model"], dependencies=[Depends(require_api_key)])


@router.get("/model", response_model=ModelDescription, responses=ERROR_RESPONSES)
def describe(ready: Ready = Depends(get_ready)) -> ModelDescription:
    b = ready.bundle
    meta = b.metadata
    return ModelDescription(
        name=b.name,
        version=b.version,
        sha256=b.sha256,
        device=str(b.device),
        point_aux=b.point_aux,
        domain=b.domain,
        training=dict(meta.get("training") or {}),
        metrics=dict(meta.get("metrics") or {}),
    )
