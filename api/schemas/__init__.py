"""Request and response models, one family per resource."""
from __future__ import annotations

from api.schemas.ask import AnswerPublic, AskPublic, AskRequest, CitationPublic, PassagePublic
from api.schemas.common import ErrorDetail, ErrorPublic, HealthPublic, ReadyPublic
from api.schemas.documents import DocumentCreate, DocumentCreated, DocumentPublic, DocumentsPublic, DocumentSummary
from api.schemas.feedback import AnswerSpan, FeedbackCreate, FeedbackCreated

__all__ = [
    "AskRequest", "AskPublic", "AnswerPublic", "CitationPublic", "PassagePublic",
    "DocumentCreate", "DocumentCreated", "DocumentPublic", "DocumentSummary", "DocumentsPublic",
    "ErrorDetail", "ErrorPublic", "HealthPublic", "ReadyPublic", "AnswerSpan", "FeedbackCreate", "FeedbackCreated",
]
