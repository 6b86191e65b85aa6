"""Request bodies parsed off the event loop, with the deployment's limits checked first.

A route awaits :func:`parse` and gets a validated model; the work runs in a worker thread
so that a large body never stalls other requests or the health endpoints. The counts that
settings limit (stations, grid axes, points) are read from a fast ``orjson`` parse and
refused with 413 before the (slower) schema validation builds any objects; the validation
itself is pydantic's strict JSON mode, so what it accepts is exactly what the OpenAPI
schema says.
"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from .errors import BadRequest, TooLarge, Unprocessable, UnsupportedMediaType
from .settings import Settings

M = TypeVar("M", bound=BaseModel)


async def parse(request: Request, model: type[M], settings: Settings) -> M:
    """The body of ``request`` validated as ``model``; raises 400/413/415/422 errors."""
    ctype = request.headers.get("content-type", "application/json")
    media = ctype.split(";")[0].strip().lower()
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        raise UnsupportedMediaType(f"Content-Type must be application/json, not {media!r}")
    raw = await request.body()
    return await run_in_threadpool(_parse, raw, model, settings)


def _parse(raw: bytes, model: type[M], settings: Settings) -> M:
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise BadRequest(f"the body is not decodable JSON: {e}") from None
    if isinstance(doc, dict):
        check_counts(doc, settings)
    try:
        return model.model_validate_json(raw)
    except ValidationError as e:
        raise Unprocessable(
            [
                {"loc": ["body", *err["loc"]], "msg": err["msg"], "type": err["type"]}
                for err in e.errors(include_url=False, include_input=False)
            ]
        ) from None


def _count(value: object) -> int | None:
    return len(value) if isinstance(value, list) else None


def check_counts(doc: dict[str, Any], s: Settings) -> None:
    """413 for counts over the deployment's limits, from the raw parse (cheap)."""
    n = _count(doc.get("stations"))
    if n is not None and n > s.max_stations:
        raise TooLarge(
            ("body", "stations"), f"{n} stations; at most {s.max_stations} allowed (max_stations)"
        )
    n = _count(doc.get("targets"))
    if n is not None and n > s.max_points:
        raise TooLarge(
            ("body", "targets"), f"{n} targets; at most {s.max_points} allowed (max_points)"
        )
    grid = doc.get("grid")
    if isinstance(grid, dict):
        n_lat, n_lon = _count(grid.get("lat")), _count(grid.get("lon"))
        if n_lat is not None and n_lon is not None and n_lat * n_lon > s.max_grid_cells:
            raise TooLarge(
                ("body", "grid"),
                f"{n_lat * n_lon} grid cells; at most {s.max_grid_cells} allowed (max_grid_cells)",
            )
