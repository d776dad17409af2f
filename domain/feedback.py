"""Feedback on answers, as people give it in the widget: the verdict, the right words when the answer
was wrong, and what is needed to turn it into an eval question or a training example later (the
answer the service gave, with its confidence, and the text around the right words)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["Verdict", "VERDICTS", "MAX_NOTE_CHARS", "MAX_CONTEXT_CHARS", "Span", "Feedback"]

Verdict = Literal["correct", "wrong", "no_answer"]
VERDICTS: tuple[str, ...] = ("correct", "wrong", "no_answer")
MAX_NOTE_CHARS = 2_000
MAX_CONTEXT_CHARS = 6_000  # the text kept around an answer for a training example


@dataclass(frozen=True, slots=True)
class Span:
    """Words of a document: ``document.text[char_start:char_end] == text``."""

    doc_id: str
    char_start: int
    char_end: int
    text: str


@dataclass(frozen=True, slots=True)
class Feedback:
    """One person's verdict on one answer.

    Attributes:
        question: what was asked.
        verdict: ``correct`` (the answer given was right), ``wrong`` (it was not; ``span`` holds the right
            words when the person showed them) or ``no_answer`` (the documents do not say).
        span: the right words: those shown for ``wrong``, the answer given for ``correct``.
        source: the source of ``span``'s document (what ``rag eval``'s JSONL names).
        context: the text around ``span`` (its paragraph, at most :data:`MAX_CONTEXT_CHARS`), or for
            ``no_answer`` the passage the service read first; ``context_start`` is its offset in the document.
        given: the answer the service gives to the question (``text``, ``doc_id``, ``char_start``,
            ``char_end``, ``confidence``, ``no_answer``).
        key_name: the API key's name (never its token), None without one.
    """

    question: str
    verdict: Verdict
    created_at: float
    span: Span | None = None
    source: str | None = None
    context: str = ""
    context_start: int = 0
    given: dict[str, Any] = field(default_factory=dict)
    key_name: str | None = None
    note: str = ""
    id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Feedback:
        span = data.get("span")
        return cls(**{**data, "span": Span(**span) if span else None})
