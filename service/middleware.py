"""Request ids, access logs, authentication and the body-size limit, as one pure ASGI
middleware.

Each request gets an id (the client's ``X-Request-ID`` when it is short and plain, else a
new one), visible as ``request.state.request_id``, in every log line written while the
request runs, and in the ``X-Request-ID`` response header. With API keys configured, a
request to ``/v1/...`` without a valid ``X-API-Key`` is answered 401 before its body is
read. Bodies over ``max_body_bytes`` are refused with 413 before anything parses them.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import Unauthorized, error_response
from .memory import IDLE_TRIM
from .state import key_is_valid

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
log = logging.getLogger("equigrid.service")


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s pid %(process)d [%(request_id)s] %(message)s"


def configure_logging(level: str) -> None:
    """One log format with request ids, for the server process and every worker process."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class RequestContext:
    def __init__(
        self, app: ASGIApp, max_body_bytes: int, api_keys: frozenset[str] = frozenset()
    ) -> None:
        self.app, self.max_body_bytes, self.api_keys = app, max_body_bytes, api_keys
        self.active = 0  # requests in flight

    def _idle(self) -> None:
        """The last request in flight has ended: give freed memory back if nothing else
        arrives within a moment (:class:`~service.memory.IdleTrim`)."""
        IDLE_TRIM.soon()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = given if _CLIENT_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        token = REQUEST_ID.set(rid)
        start, status = time.perf_counter(), 500
        self.active += 1
        IDLE_TRIM.cancel()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            if (
                self.api_keys
                and scope["path"].startswith("/v1/")
                and not key_is_valid(
                    headers.get(b"x-api-key", b"").decode("latin-1"), self.api_keys
                )
            ):
                response = error_response(
                    401, "a valid X-API-Key header is required", rid, headers=Unauthorized.headers
                )
                await response(scope, receive, send_with_id)
                return
            body = await self._read_body(headers, receive)
            if body is None:
                msg = f"request body over the limit of {self.max_body_bytes} bytes (max_body_bytes)"
                too_large = [{"loc": ["body"], "msg": msg, "type": "limit_exceeded"}]
                await error_response(413, too_large, rid)(scope, receive, send_with_id)
                return
            await self.app(scope, _replay(body, receive), send_with_id)
        finally:
            self.active -= 1
            if self.active == 0 and scope["path"].startswith("/v1/"):
                self._idle()
            ms = 1000 * (time.perf_counter() - start)
            log.info("%s %s %d %.1f ms", scope["method"], scope["path"], status, ms)
            REQUEST_ID.reset(token)

    async def _read_body(self, headers: dict[bytes, bytes], receive: Receive) -> bytes | None:
        """The whole body, or None when it is over the limit (by header or by count)."""
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            return None
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
