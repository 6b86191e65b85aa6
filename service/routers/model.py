"""``GET /v1/model``: what is being served."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from inference.reach import reach_deg

from ..errors import ERROR_RESPONSES
from ..schemas import ModelDescription
from ..state import Ready, get_ready

router = APIRouter(prefix="/v1", tags=["model"])


@router.get("/model", response_model=ModelDescription, responses={503: ERROR_RESPONSES[503]})
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
        reach_deg=None if (reach := reach_deg(b)) is None else round(reach, 2),
    )
