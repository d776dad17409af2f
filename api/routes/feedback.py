"""``POST /feedback``: people say whether an answer was right, and show the right words when it was not."""
from __future__ import annotations

import logging

from fastapi import APIRouter

from api.deps import MetricsDep, PipelineDep, ReadCaller
from api.routes import error_responses
from api.schemas.feedback import FeedbackCreate, FeedbackCreated

__all__ = ["router"]

logger = logging.getLogger(__name__)

router = APIRouter(tags=["feedback"])


@router.post("/feedback", status_code=201, response_model=FeedbackCreated,
             responses=error_responses(400, 401, 413, 422, 429))
def give_feedback(body: FeedbackCreate, pipeline: PipelineDep, metrics: MetricsDep, caller: ReadCaller
                  ) -> FeedbackCreated:
    """Store a verdict on the answer to ``question``, with the answer the service gives it now and its
    confidence, and the right words when ``answer`` shows them (in a document the caller may read).

    Anyone who may ask may give feedback (it is rate-limited like ``/ask``); ``rag feedback export`` turns it
    into eval questions and training examples. A plain ``def``: it asks the question again (for the answer
    the service gives), in the threadpool like ``/ask``, not in the queue of index writes.
    """
    answer = body.answer.model_dump() if body.answer is not None else None
    item = pipeline.record_feedback(body.question, body.verdict, answer=answer, note=body.note, scope=caller.scope,
                                    key_name=caller.name)
    metrics.feedback.labels(body.verdict).inc()
    logger.info("feedback %s: %s", item.id, body.verdict)
    return FeedbackCreated(id=item.id)
