"""The service's errors and the one place that maps errors to HTTP responses.

Every domain error is an :class:`inference.errors.EquigridError` and carries its
``http_status``; the service's own (authentication, negotiation, limits, admission,
readiness) are subclasses of it too, so one handler answers them all. Every error body is
``{"detail": ..., "request_id": ...}``; validation errors keep FastAPI's list of
``{"loc", "msg", "type"}`` entries (without echoing the input back). :data:`ERROR_RESPONSES`
documents exactly the statuses the routes can return, so the OpenAPI document and the
behaviour agree.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from inference.errors import EquigridError


class ServiceError(EquigridError):
    """Base of the errors only a request can end in; the subclass decides the HTTP status."""

    headers: dict[str, str] | None = None


class BadRequest(ServiceError):
    """The body is not decodable JSON."""

    http_status = 400


class Unauthorized(ServiceError):
    http_status = 401
    headers = {"WWW-Authenticate": "ApiKey"}  # noqa: RUF012 (read-only)


class NotAcceptable(ServiceError):
    http_status = 406


class TooLarge(ServiceError):
    """The body, a count or the estimated work is over a configured limit (named)."""

    http_status = 413

    def __init__(self, loc: tuple[str | int, ...], msg: str) -> None:
        super().__init__(msg)
        self.loc, self.msg = loc, msg


class UnsupportedMediaType(ServiceError):
    http_status = 415


class InvalidRequest(ServiceError):
    """A request that is well-formed but violates a rule (a cross-field rule, a range)."""

    http_status = 422

    def __init__(self, loc: tuple[str | int, ...], msg: str) -> None:
        super().__init__(msg)
        self.loc, self.msg = loc, msg


class Unprocessable(ServiceError):
    """A schema validation failure, with pydantic's list of errors (422)."""

    http_status = 422

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("invalid request")
        self.errors = errors


class NotReady(ServiceError):
    http_status = 503
    headers = {"Retry-After": "5"}  # noqa: RUF012 (read-only)


class Overloaded(ServiceError):
    """The lane's queue is full: try again after ``retry_after`` seconds."""

    http_status = 503

    def __init__(self, msg: str, retry_after: int) -> None:
        super().__init__(msg)
        self.headers = {"Retry-After": str(retry_after)}


class DeadlineExceeded(ServiceError):
    http_status = 504


class ErrorBody(BaseModel):
    """The body of every non-validation error response."""

    detail: str
    request_id: str | None = None


class ValidationItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationBody(BaseModel):
    """The body of 413 and 422 responses: which field or limit, and why."""

    detail: list[ValidationItem]
    request_id: str | None = None


def error_response(status: int, detail: Any, request_id: str | None, **kw: Any) -> JSONResponse:
    return JSONResponse({"detail": detail, "request_id": request_id}, status_code=status, **kw)


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    """Any :class:`EquigridError`: its ``http_status``, its message (or location) as detail."""
    assert isinstance(exc, EquigridError)
    detail: Any = str(exc)
    if isinstance(exc, Unprocessable):
        detail = exc.errors
    elif isinstance(exc, (InvalidRequest, TooLarge)):
        kind = "value_error" if isinstance(exc, InvalidRequest) else "limit_exceeded"
        detail = [{"loc": list(exc.loc), "msg": exc.msg, "type": kind}]
    headers = exc.headers if isinstance(exc, ServiceError) else None
    return error_response(exc.http_status, detail, _request_id(request), headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, validation_detail(exc.errors()), _request_id(request))


def validation_detail(errors: Any) -> list[dict[str, Any]]:
    return [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type", "")}
        for e in errors
    ]


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Framework HTTP errors (404, 405) in the same body format."""
    assert isinstance(exc, StarletteHTTPException)
    return error_response(exc.status_code, exc.detail, _request_id(request), headers=exc.headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(EquigridError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)


def _err(description: str, model: type[BaseModel] = ErrorBody) -> dict[str, Any]:
    return {"model": model, "description": description}


_RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds after which the request may succeed",
        "schema": {"type": "integer", "minimum": 1},
    }
}

# OpenAPI description of the error responses, for the routes' ``responses=`` (401 is added
# by the OpenAPI generator only when API keys are configured).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _err("the body is not decodable JSON"),
    406: _err("no acceptable representation for the Accept header"),
    413: _err(
        "over a configured limit: body bytes, stations, grid cells or points, the model's "
        "internal grid, or the estimated work (max_cost_gmac); the detail names the limit",
        ValidationBody,
    ),
    415: _err("Content-Type is not application/json"),
    422: _err(
        "the body breaks a rule of the schema or a cross-field rule stated in the request "
        "schema's description; the detail names the field",
        ValidationBody,
    ),
    503: {
        **_err("the model is not loaded yet, or the request's lane is full (Retry-After)"),
        "headers": _RETRY_AFTER,
    },
    504: _err("the request's deadline (request_timeout_s) passed before it was answered"),
}
