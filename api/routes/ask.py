"""``POST /ask``."""
from __future__ import annotations

import time

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import MetricsDep, PipelineDep, ReadCaller
from api.routes import error_responses
from api.schemas.ask import AskPublic, AskRequest
from rag import where_scope

__all__ = ["router"]

router = APIRouter(tags=["ask"])


@router.post("/ask", response_model=AskPublic, responses=error_responses(400, 401, 413, 422, 429))
def ask(body: AskRequest, pipeline: PipelineDep, metrics: MetricsDep, caller: ReadCaller) -> JSONResponse:
    """Answer with extracts from the documents, each cited to the character, or say there is none.

    Only documents the caller's key may read are searched (without a key: ``public`` ones), narrowed
    by ``where`` when given.

    The body is exactly what ``rag ask --json`` prints. A plain ``def``: FastAPI runs it in the
    threadpool, so embedding the question never blocks the event loop.
    """
    started = time.perf_counter()
    result = pipeline.ask(body.question, k=body.k, scope=where_scope(body.where, caller.scope))
    metrics.observe_ask(time.perf_counter() - started, no_answer=result.no_answer)
    # Returned as-is rather than through AskPublic so the CLI and HTTP contracts cannot drift apart;
    # tests check that AskPublic still describes it.
    return JSONResponse(result.to_dict())
