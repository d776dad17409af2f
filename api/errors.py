"""Every failure as ``{"error": {"code": ..., "message": ...}}`` with a fitting status.

Library errors (:class:`domain.errors.RagError`) keep their ``code``; request validation, malformed
JSON, unknown routes and oversized bodies get codes of their own. Bad input is always a 4xx; a 5xx
means the service itself is broken (its index or model), never the request.
"""
from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import (DocumentError, DocumentNotFoundError, IndexLockedError, IndexStoreError, InvalidFeedbackError,
                           InvalidQuestionError, ModelError, PermissionDeniedError, RagError, UnsupportedFormatError)

__all__ = ["ApiError", "error_body", "error_response", "install_error_handlers", "validation_message"]

logger = logging.getLogger(__name__)

# Most specific first: the first class an error is an instance of decides its status.
_RAG_STATUS: tuple[tuple[type[RagError], int], ...] = (
    (InvalidQuestionError, 422),
    (InvalidFeedbackError, 422),
    (DocumentNotFoundError, 404),
    (PermissionDeniedError, 403),
    (UnsupportedFormatError, 415),
    (DocumentError, 422),
    (IndexLockedError, 503),
    (IndexStoreError, 503),
    (ModelError, 503),
)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
}


class ApiError(Exception):
    """An error the API raises itself, already carrying its status and code."""

    def __init__(self, status_code: int, code: str, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers = headers


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def error_response(status_code: int, code: str, message: str, *, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status_code, headers=headers)


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc) or "request"


def validation_message(errors: list[dict[str, Any]] | Any) -> str:
    """Pydantic's error list as one readable line: ``body.k: Input should be a valid integer``."""
    parts = [f"{_location(e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in list(errors)[:5]]
    return "; ".join(parts) or "invalid request"


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status_code, exc.code, exc.message, headers=exc.headers)


async def _rag_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RagError)
    status = next((status for cls, status in _RAG_STATUS if isinstance(exc, cls)), 400)
    if status >= 500:
        logger.error("%s %s failed: %s", request.method, request.url.path, exc)
    return error_response(status, exc.code, str(exc))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    bad_json = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if bad_json is not None:
        detail = (bad_json.get("ctx") or {}).get("error", "JSON decode error")
        return error_response(400, "malformed_json", f"the request body is not valid JSON: {detail}")
    return error_response(422, "invalid_request", validation_message(errors))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        # FastAPI's generic "error parsing the body" for a JSON body that is not even UTF-8.
        return error_response(400, "malformed_json", f"the request body is not valid JSON: {exc.__cause__}")
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("%s %s failed unexpectedly", request.method, request.url.path)
    return error_response(500, "internal_error", "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RagError, _rag_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
