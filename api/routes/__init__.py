"""One router per resource."""
from __future__ import annotations

from typing import Any

from api.schemas.common import ErrorPublic

__all__ = ["error_responses"]

_WHY = {
    400: "Malformed JSON or an unreadable upload.",
    401: "The API key is missing or wrong.",
    403: "The key may not make this change (a read key, or groups outside the key's).",
    404: "No such document (or none the key may read).",
    413: "The body is over RAG_MAX_UPLOAD_MB.",
    415: "An unsupported content type or file format.",
    422: "Invalid input: the message says which field and why.",
    429: "Over RAG_RATE_LIMIT; retry after the Retry-After header's seconds.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for error statuses, all in the error envelope."""
    return {status: {"model": ErrorPublic, "description": _WHY[status]} for status in statuses}
