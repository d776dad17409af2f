"""``/healthz``, ``/readyz`` and ``/metrics``."""
from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from domain.errors import RagError
from domain.access import PUBLIC_ONLY
from api.deps import MetricsDep, ServiceAccess
from api.errors import ApiError
from api.routes import error_responses
from api.schemas.common import ErrorPublic, HealthPublic, ReadyPublic

__all__ = ["router"]

logger = logging.getLogger(__name__)

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=HealthPublic)
def healthz() -> HealthPublic:
    """The process is alive."""
    return HealthPublic()


@router.get("/readyz", response_model=ReadyPublic,
            responses={503: {"model": ErrorPublic, "description": "Not ready to answer."}})
def readyz(request: Request) -> ReadyPublic:
    """The index is open and readable and the model loaded; with the counts of its public documents
    (anyone may call this: documents of other groups are not counted here)."""
    pipeline = request.app.state.pipeline
    if pipeline is None:
        raise ApiError(503, "not_ready", "the index and model are still loading")
    try:
        stats = pipeline.stats(scope=PUBLIC_ONLY)
    except RagError as exc:
        logger.error("not ready: %s", exc)
        raise ApiError(503, "not_ready", str(exc)) from exc
    return ReadyPublic(**stats)


@router.get("/metrics", dependencies=[ServiceAccess], response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format."},
                       **error_responses(401)})
def metrics(metrics: MetricsDep) -> Response:
    """Requests and latency per route, the /ask latency histogram, no-answer count, index counts (of every
    group: with ``RAG_API_KEY`` set, only the service key may read them)."""
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)
