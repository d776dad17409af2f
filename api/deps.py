"""Typed dependencies: the pipeline, the settings, the metrics, and the API-key checks."""
from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import ApiError
from api.metrics import Metrics
from api.settings import Settings
from rag import Pipeline

__all__ = ["WriteQueue", "get_pipeline", "get_settings", "get_metrics", "get_writes", "require_read_key",
           "require_write_key", "PipelineDep", "SettingsDep", "MetricsDep", "WritesDep", "ReadAccess", "WriteAccess"]

T = TypeVar("T")

# auto_error=False: a missing header is ours to answer (401 in the error envelope), not FastAPI's 403.
_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <RAG_API_KEY>`")


class WriteQueue:
    """Runs index writes in a worker thread, one at a time.

    The index serializes writers anyway; queueing them here, in the event loop, keeps a burst of
    uploads from occupying every thread of the shared pool while they wait for the index lock, so
    questions always find a thread.
    """

    def __init__(self) -> None:
        self._limiter: anyio.CapacityLimiter | None = None

    async def run(self, func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        if self._limiter is None:  # created on first use, inside the running event loop
            self._limiter = anyio.CapacityLimiter(1)
        return await anyio.to_thread.run_sync(functools.partial(func, *args, **kwargs), limiter=self._limiter)


# The dependencies are ``async def`` although they never wait: FastAPI runs a plain ``def``
# dependency in the thread pool, one hop per dependency per request (four for /ask), each one queued
# behind the questions already occupying the pool's threads. Inline in the event loop they cost
# nothing; the endpoints that do real work stay plain ``def`` and still get their one thread.
async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


async def get_writes(request: Request) -> WriteQueue:
    return request.app.state.writes


async def get_pipeline(request: Request) -> Pipeline:
    pipeline = request.app.state.pipeline
    if pipeline is None:  # only between startup and the end of the lifespan's model load
        raise ApiError(503, "not_ready", "the index and model are still loading")
    return pipeline


SettingsDep = Annotated[Settings, Depends(get_settings)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]
WritesDep = Annotated[WriteQueue, Depends(get_writes)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _check_key(settings: Settings, credentials: HTTPAuthorizationCredentials | None) -> None:
    expected = settings.api_key.get_secret_value().encode() if settings.api_key else b""
    given = credentials.credentials.encode() if credentials else b""
    # compare_digest takes time independent of where the strings differ; the key is never logged.
    if not given or not hmac.compare_digest(given, expected):
        raise ApiError(401, "unauthorized", "a valid API key is required: send 'Authorization: Bearer <key>'",
                       headers={"WWW-Authenticate": "Bearer"})


async def require_write_key(settings: SettingsDep, credentials: Credentials) -> None:
    """Writes need the key whenever ``RAG_API_KEY`` is set."""
    if settings.api_key is not None:
        _check_key(settings, credentials)


async def require_read_key(settings: SettingsDep, credentials: Credentials) -> None:
    """Reads need the key only with ``RAG_API_KEY_READS=true``."""
    if settings.api_key is not None and settings.api_key_reads:
        _check_key(settings, credentials)


ReadAccess = Depends(require_read_key)
WriteAccess = Depends(require_write_key)
