"""Typed dependencies: the pipeline, the settings, the metrics, and the caller (:mod:`api.callers`)."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from domain.access import EVERYTHING
from api.callers import ANONYMOUS, SERVICE, Caller, caller_for_key, is_service_key
from api.errors import ApiError
from api.metrics import Metrics
from api.settings import Settings
from rag import Pipeline

__all__ = ["WriteQueue", "get_pipeline", "get_settings", "get_metrics", "get_writes", "get_caller", "read_caller",
           "write_caller", "require_service_key", "PipelineDep", "SettingsDep", "MetricsDep", "WritesDep", "CallerDep",
           "ReadCaller", "WriteCaller", "ServiceAccess", "OPEN_WRITER"]

T = TypeVar("T")

# Without any key configured, anyone may write anything (a development set-up; reads stay public-only).
OPEN_WRITER = Caller(None, EVERYTHING, write=True)

# auto_error=False: a missing header is ours to answer (401 in the error envelope), not FastAPI's 403.
_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>`: RAG_API_KEY or a `rag keys add` key")


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


def _unauthorized(message: str = "a valid API key is required: send 'Authorization: Bearer <key>'") -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


async def get_caller(request: Request, settings: SettingsDep, credentials: Credentials) -> Caller:
    """The caller the bearer token names (:mod:`api.callers`); 401 for a token that names none."""
    token = credentials.credentials if credentials else ""
    service_key = settings.api_key.get_secret_value() if settings.api_key else None
    if not token:
        return ANONYMOUS
    if is_service_key(token, service_key):
        return SERVICE
    key = await request.app.state.keys.find(await get_pipeline(request), token)
    if key is None:
        raise _unauthorized("this API key is not valid (unknown or revoked): send 'Authorization: Bearer <key>' with a valid key")
    return caller_for_key(key)


CallerDep = Annotated[Caller, Depends(get_caller)]


async def read_caller(settings: SettingsDep, caller: CallerDep) -> Caller:
    """A caller that may read: anyone, unless ``RAG_API_KEY_READS`` asks for a key."""
    if caller.name is None and settings.api_key_reads:
        raise _unauthorized()
    return caller


async def write_caller(request: Request, settings: SettingsDep, caller: CallerDep) -> Caller:
    """A caller that may write: the service key, a write key, or anyone while the service has no keys."""
    if caller.write:
        return caller
    if caller.name is not None:
        raise ApiError(403, "forbidden", f"the key {caller.name!r} may only read")
    if settings.api_key is None and not await request.app.state.keys.any(await get_pipeline(request)):
        return OPEN_WRITER
    raise _unauthorized()


async def require_service_key(settings: SettingsDep, caller: CallerDep) -> None:
    """The service's own endpoints (``/metrics``: counts of every group): the service key, when one is set."""
    if settings.api_key is not None and caller is not SERVICE:
        raise _unauthorized("this endpoint needs the service key (RAG_API_KEY)")


ReadCaller = Annotated[Caller, Depends(read_caller)]
WriteCaller = Annotated[Caller, Depends(write_caller)]
ServiceAccess = Depends(require_service_key)
