"""The service's errors and the one place that maps errors to HTTP responses.

Every domain error is an :class:`inference.errors.EquigridError` and carries its
``http_status``; the service's own (authentication, negotiation, limits, readiness) are
subclasses of it too, so one handler answers them all. Every error body is
``{"detail": ..., "request_id": ...}``; validation errors keep FastAPI's list of
``{"loc", "msg", "type"}`` entries (without echoing the input back).
"""

from __future__ import annotations

from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from inference.errors import EquigridError


class ServiceError(EquigridError):
    """Base of the errors only a request can end in."""

    headers: ClassVar[dict[str, str] | None] = None


class Unauthorized(ServiceError):
    http_status: ClassVar[int] = 401
    headers: ClassVar[dict[str, str] | None] = {"WWW-Authenticate": "ApiKey"}


class NotAcceptable(ServiceError):
    http_status: ClassVar[int] = 406


class PayloadTooLarge(ServiceError):
    http_status: ClassVar[int] = 413


class NotReady(ServiceError):
    http_status: ClassVar[int] = 503


class InvalidRequest(ServiceError):
    """A request that is well-formed but violates a configured limit or a rule."""

    http_status: ClassVar[int] = 422

    def __init__(self, loc: tuple[str | int, ...], msg: str) -> None:
        super().__init__(msg)
        self.loc, self.msg = loc, msg


class ErrorBody(BaseModel):
    """The body of every non-validation error response."""

    detail: str
    request_id: str | None = None


def error_response(status: int, detail: Any, request_id: str | None, **kw: Any) -> JSONResponse:
    return JSONResponse({"detail": detail, "request_id": request_id}, status_code=status, **kw)


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    """Any :class:`EquigridError`: its ``http_status``, its message (or location) as detail."""
    assert isinstance(exc, EquigridError)
    if isinstance(exc, InvalidRequest):
        detail: Any = [{"loc": list(exc.loc), "msg": exc.msg, "type": "value_error"}]
    else:
        detail = str(exc)
    headers = exc.headers if isinstance(exc, ServiceError) else None
    return error_response(exc.http_status, detail, _request_id(request), headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    return error_response(422, detail, _request_id(request))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Framework HTTP errors (e.g. 400 for an undecodable body) in the same body format."""
    assert isinstance(exc, StarletteHTTPException)
    return error_response(exc.status_code, exc.detail, _request_id(request), headers=exc.headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(EquigridError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)


# OpenAPI description of the error responses, for the routes' ``responses=``
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "body is not decodable JSON"},
    401: {"model": ErrorBody, "description": "missing or invalid X-API-Key"},
    406: {"model": ErrorBody, "description": "no acceptable representation"},
    413: {"model": ErrorBody, "description": "request body over the configured limit"},
    503: {"model": ErrorBody, "description": "model not loaded and warmed up yet"},
}
