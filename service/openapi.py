"""The OpenAPI document, made to say what the server does.

- Request bodies are parsed by :mod:`service.body` (off the event loop), so the routes
  declare them with ``openapi_extra={"x-equigrid-body": NAME}``; here they become real
  ``requestBody`` entries whose schemas are the pydantic models', with the deployment's
  limits (``max_stations``, ``max_points``) written in as ``maxItems``.
- The ``X-API-Key`` header appears only when keys are configured, as an ``apiKey`` security
  scheme with its 401 response; without keys there is no such header and no 401.
- Statuses listed per route are those the route really returns (:data:`ERROR_RESPONSES`).
- Rules across fields that JSON Schema can state are stated: the grid's two forms
  (``oneOf``, the other form's fields absent or null) and the plausible range of station
  values in the request's units (``if``/``then``/``else`` on ``units``).
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from inference.units import TemperatureUnit, plausible_range

from .errors import ErrorBody
from .schemas import GridRequest, PointsRequest
from .settings import Settings

BODIES: dict[str, type[BaseModel]] = {"GridRequest": GridRequest, "PointsRequest": PointsRequest}
REF = "#/components/schemas/{model}"


def _body_schema(model: type[BaseModel], s: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the model's schema, its definitions), with deployment limits and the grid's forms."""
    schema = model.model_json_schema(ref_template=REF)
    defs = schema.pop("$defs", {})
    props = schema["properties"]
    _max_items(props["stations"], s.max_stations)
    if "targets" in props:
        _max_items(props["targets"], s.max_points)
    schema |= _value_range_by_units()
    if "GridSpec" in defs:
        g = defs["GridSpec"]
        # exactly one form; the other form's fields absent or null (a null is not given,
        # as the server reads it, so {"bbox": [...], "lat": null} is the first form)
        absent = {"type": "null"}
        g["oneOf"] = [
            {
                "title": "bbox and resolution",
                "required": ["bbox", "resolution_deg"],
                "properties": {"bbox": {"type": "array"}, "resolution_deg": {"type": "number"},
                               "lat": absent, "lon": absent},
            },
            {
                "title": "explicit axes",
                "required": ["lat", "lon"],
                "properties": {"lat": {"type": "array"}, "lon": {"type": "array"},
                               "bbox": absent, "resolution_deg": absent},
            },
        ]  # fmt: skip
        for axis in ("lat", "lon"):
            _max_items(g["properties"][axis], s.max_grid_cells)
    return schema, defs


def _value_range_by_units() -> dict[str, Any]:
    """The plausible range of station values in the request's units
    (:func:`inference.units.plausible_range`), as JSON Schema ``if``/``then``/``else``."""

    def values_in(unit: TemperatureUnit) -> dict[str, Any]:
        lo, hi = plausible_range(unit)
        value = {"minimum": round(lo, 2), "maximum": round(hi, 2)}
        return {"properties": {"stations": {"items": {"properties": {"value": value}}}}}

    return {
        "if": {"required": ["units"], "properties": {"units": {"const": TemperatureUnit.K.value}}},
        "then": values_in(TemperatureUnit.K),
        "else": values_in(TemperatureUnit.degC),  # the default units
    }


def _max_items(prop: dict[str, Any], n: int) -> None:
    for option in prop.get("anyOf", [prop]):
        if option.get("type") == "array":
            option["maxItems"] = n


def build(app: FastAPI, s: Settings) -> dict[str, Any]:
    doc = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=(
            "Stations in; a gridded temperature mean and variance out. Requests are admitted "
            "by their estimated work: over the deployment's limits they are refused with 413 "
            "naming the limit; when a lane's queue is full with 503 and Retry-After; past the "
            "deadline with 504."
        ),
        routes=app.routes,
    )
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name, model in BODIES.items():
        schema, defs = _body_schema(model, s)
        schemas[name] = schema
        schemas.update(defs)
    schemas.setdefault("ErrorBody", ErrorBody.model_json_schema(ref_template=REF))
    for path, ops in doc["paths"].items():
        for op in ops.values():
            name = op.pop("x-equigrid-body", None)
            if name is not None:
                op["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": REF.format(model=name)}}},
                }
            if s.api_keys and path.startswith("/v1/"):
                op["security"] = [{"ApiKeyAuth": []}]
                op.setdefault("responses", {})["401"] = {
                    "description": "missing or invalid X-API-Key",
                    "headers": {
                        "WWW-Authenticate": {"schema": {"type": "string", "const": "ApiKey"}}
                    },
                    "content": {
                        "application/json": {"schema": {"$ref": REF.format(model="ErrorBody")}}
                    },
                }
            # FastAPI adds 422 to every route with parameters; only body routes return it
            if name is None and "422" in op.get("responses", {}):
                del op["responses"]["422"]
    if s.api_keys:
        doc["components"]["securitySchemes"] = {
            "ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"}
        }
    for unused in ("HTTPValidationError", "ValidationError"):
        if not _referenced(doc, unused):
            schemas.pop(unused, None)
    return doc


def _referenced(doc: dict[str, Any], name: str) -> bool:
    return REF.format(model=name) in str(doc["paths"])


def install(app: FastAPI, settings: Settings) -> None:
    cached: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not cached:
            cached.update(build(app, settings))
        return copy.deepcopy(cached)

    app.openapi = openapi  # type: ignore[method-assign]
