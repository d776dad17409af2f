"""Turning a person's verdict on an answer into a :class:`~domain.feedback.Feedback` worth keeping: checked
against the documents the person may read, with the answer the service gives and the text around the
right words (what an eval question and a training example need later)."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from domain.access import Scope
from domain.errors import InvalidFeedbackError
from domain.feedback import MAX_CONTEXT_CHARS, MAX_NOTE_CHARS, VERDICTS, Feedback, Span
from domain.limits import id_problem, text_problem
from domain.types import AskResult, Document

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

__all__ = ["build_feedback", "context_around"]


def context_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The paragraph holding ``text[start:end]`` (between blank lines), cut to :data:`MAX_CONTEXT_CHARS`
    around the span when longer."""
    before = text.rfind("\n\n", 0, start)
    low = before + 2 if before >= 0 else 0
    after = text.find("\n\n", end)
    high = after if after >= 0 else len(text)
    if high - low > MAX_CONTEXT_CHARS:
        low = max(low, start - (MAX_CONTEXT_CHARS - (end - start)) // 2)
        high = min(high, low + MAX_CONTEXT_CHARS)
    return low, max(high, end)


def _span(pipeline: Pipeline, answer: Any, scope: Scope | None) -> tuple[Span, Document]:
    """The words ``answer`` points at, in a document ``scope`` admits."""
    if not isinstance(answer, dict) or set(answer) != {"doc_id", "char_start", "char_end"}:
        raise InvalidFeedbackError('answer must be {"doc_id", "char_start", "char_end"}')
    doc_id, start, end = answer["doc_id"], answer["char_start"], answer["char_end"]
    if not isinstance(doc_id, str) or any(isinstance(v, bool) or not isinstance(v, int) for v in (start, end)):
        raise InvalidFeedbackError("answer: doc_id is a string, char_start and char_end integers")
    # An id no document can have (say, not valid Unicode), unknown, or not the caller's: the same words.
    doc = None if id_problem(doc_id) else pipeline.directory.snapshot(scope).document(doc_id)
    if doc is None:
        raise InvalidFeedbackError(f"answer.doc_id: no document with id {doc_id[:100]!r}")
    if not 0 <= start < end <= len(doc.text):
        raise InvalidFeedbackError(f"answer: char_start and char_end must satisfy 0 <= char_start < char_end <= "
                                   f"{len(doc.text)} (the document's length)")
    if end - start > MAX_CONTEXT_CHARS or not doc.text[start:end].strip():
        raise InvalidFeedbackError(f"answer: 1 to {MAX_CONTEXT_CHARS:,} characters of the document, not only spaces")
    return Span(doc_id, start, end, doc.text[start:end]), doc


def _note_problem(note: Any) -> str | None:
    if note is None:
        return None
    if not isinstance(note, str) or len(note) > MAX_NOTE_CHARS:
        return f"note: a string of at most {MAX_NOTE_CHARS:,} characters"
    return text_problem(note, what="the note")


def _given(result: AskResult) -> dict[str, Any]:
    best = result.answers[0] if result.answers else None
    return {"text": best.text if best else None, "doc_id": best.citation.doc_id if best else None,
            "char_start": best.citation.char_start if best else None,
            "char_end": best.citation.char_end if best else None,
            "confidence": round(result.confidence, 4), "no_answer": result.no_answer}


def build_feedback(pipeline: Pipeline, question: Any, verdict: Any, answer: Any = None, note: Any = None, *,
                   scope: Scope | None = None, key_name: str | None = None) -> Feedback:
    """A checked :class:`Feedback`. Raises :class:`InvalidFeedbackError` (or ``InvalidQuestionError`` for
    the question) saying what is wrong; nothing is stored by this function."""
    if verdict not in VERDICTS:
        raise InvalidFeedbackError(f"verdict must be one of {', '.join(VERDICTS)}")
    problem = _note_problem(note)
    if problem:
        raise InvalidFeedbackError(problem)
    if verdict == "no_answer" and answer is not None:
        raise InvalidFeedbackError("a no_answer verdict says the documents do not hold the answer: send no answer")
    result = pipeline.ask(question, scope=scope)  # validates the question; what the service answers now
    given = _given(result)
    if answer is None and verdict == "correct":
        if given["no_answer"]:
            raise InvalidFeedbackError("the service gives no answer to this question now: send verdict wrong with "
                                       "the right words, or no_answer")
        answer = {"doc_id": given["doc_id"], "char_start": given["char_start"], "char_end": given["char_end"]}
    common = {"question": result.question, "verdict": verdict, "created_at": time.time(), "given": given,
              "key_name": key_name, "note": note or ""}
    if answer is not None:
        span, doc = _span(pipeline, answer, scope)
        low, high = context_around(doc.text, span.char_start, span.char_end)
        return Feedback(**common, span=span, source=doc.source, context=doc.text[low:high], context_start=low)
    if result.passages:  # no_answer, or wrong without the right words: the passage the service read first
        first = result.passages[0]
        return Feedback(**common, source=first.citation.source, context=first.text[:MAX_CONTEXT_CHARS],
                        context_start=first.citation.char_start)
    return Feedback(**common)
