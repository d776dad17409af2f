"""Pure ASGI middleware: the request-body limit and per-route metrics."""
from __future__ import annotations

import json
import time

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body
from api.metrics import Metrics

__all__ = ["BodyTooLargeError", "BodyLimitMiddleware", "MetricsMiddleware", "send_json"]


class BodyTooLargeError(HTTPException):
    """Raised from ``receive`` once a streamed body passes the limit; the handlers turn it into a 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit / (1024 * 1024):g} MB "
                              "(RAG_MAX_UPLOAD_MB)")


class BodyLimitMiddleware:
    """Refuse request bodies over ``limit`` bytes without ever holding more than that in memory.

    A declared ``Content-Length`` over the limit is refused before the body is read; a body without
    one (chunked) is counted as it streams in and cut off as soon as it passes the limit.
    """

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await send_json(send, 413, error_body("payload_too_large", BodyTooLargeError(self.limit).detail), close=True)
            return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLargeError(self.limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLargeError as exc:
            # Normally the exception handlers answer; this catches reads outside a route (none today).
            if started:
                raise
            await send_json(send, 413, error_body("payload_too_large", exc.detail), close=True)


class MetricsMiddleware:
    """Count requests and time them, labelled by the route template (``/documents/{doc_id}``)."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route = scope.get("route")
            # Unmatched paths share one label so that scanners cannot blow up the label space.
            label = getattr(route, "path", None) or "unmatched"
            self.metrics.observe_request(scope["method"], label, status, time.perf_counter() - started)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def send_json(send: Send, status: int, body: dict, *, headers: list[tuple[bytes, bytes]] | None = None,
                    close: bool = False) -> None:
    """Answer from a pure-ASGI middleware, before (or instead of) the app: ``body`` as JSON."""
    payload = json.dumps(body).encode()
    extra = [*(headers or []), *([(b"connection", b"close")] if close else [])]
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                            *extra]})
    await send({"type": "http.response.body", "body": payload})
