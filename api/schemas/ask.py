"""``POST /ask``: the question in, exactly the ``rag ask --json`` object out."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from rag import MAX_K, MAX_QUESTION_CHARS

__all__ = ["AskRequest", "CitationPublic", "AnswerPublic", "PassagePublic", "AskPublic"]


class AskRequest(BaseModel):
    # The limits are enforced by the pipeline (one place, one error code: invalid_question);
    # here they are only documented in the OpenAPI schema.
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"question": "Who is the Chinese ambassador to Norway?", "k": 5}]})

    question: StrictStr = Field(description=f"Not blank, at most {MAX_QUESTION_CHARS} characters.",
                                json_schema_extra={"minLength": 1, "maxLength": MAX_QUESTION_CHARS})
    k: StrictInt = Field(default=5, description=f"How many passages to retrieve, 1 to {MAX_K}.",
                         json_schema_extra={"minimum": 1, "maximum": MAX_K})
    where: dict[str, Any] | None = Field(
        default=None, description="Only documents meeting every condition: `{\"key\": value | [values] | "
        "{\"prefix\": str} | {\"gte\"/\"lte\": number or ISO date}}`, on `source`, `title` or a metadata key "
        "(docs/asking.md). An unknown operator or a type mismatch is a 422.",
        json_schema_extra={"examples": [{"lang": "en", "year": {"gte": 2020}}]})


class CitationPublic(BaseModel):
    """Where an extract comes from: ``document.text[char_start:char_end]`` is the extract."""

    model_config = ConfigDict(extra="forbid")

    doc_id: str
    title: str
    source: str
    page: int | None
    chunk_id: int
    char_start: int
    char_end: int


class AnswerPublic(BaseModel):
    """An extract: ``text`` lies inside ``sentence``, which spans ``sentence_start:sentence_end``."""

    model_config = ConfigDict(extra="forbid")

    text: str
    score: float = Field(description="0-1, the reader's evidence for this span: above 0.5 it prefers the span to "
                                     "'no answer here' (answers come best first)")
    sentence: str
    sentence_start: int
    sentence_end: int
    citation: CitationPublic


class PassagePublic(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    score: float = Field(description="the fused retrieval score: only the order means something")
    citation: CitationPublic


class AskPublic(BaseModel):
    """The ``rag ask --json`` object. ``no_answer`` is true, and ``answers`` empty, when the
    documents do not contain an answer."""

    model_config = ConfigDict(extra="forbid")

    question: str
    no_answer: bool
    confidence: float = Field(description="how sure the service is that the documents answer the question (0-1)")
    no_answer_threshold: float = Field(description="the confidence below which it answers no_answer")
    answers: list[AnswerPublic]
    passages: list[PassagePublic]
    timings_ms: dict[str, float]
