"""Ask a pipeline its questions as the product does, and keep what its answerer saw instead of answering.

The fits of the sentence ranker and the no-answer model learn from exactly what ``Pipeline.ask``
hands the answerer (the passages, their sentences and fused scores); :func:`recording` stands a
recorder in for the pipeline's answerer for the length of a ``with`` block.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rag import AnswerSet, Pipeline

__all__ = ["recording", "Recorder"]

# (answerer, question, query vector, chunks, sentences, fused scores) -> what to keep
Keep = Callable[[Any, str, Any, list, Any, list], Any]


class Recorder:
    """In place of an answerer: keeps ``keep(...)`` of the last question and answers nothing."""

    def __init__(self, inner: Any, keep: Keep) -> None:
        self.inner, self.keep, self.last = inner, keep, None

    def __getattr__(self, name: str) -> Any:  # what the pipeline reads (passages, threshold)
        return getattr(self.inner, name)

    def answer(self, question, query_vector, chunks, sentences, *, fused_scores=None) -> AnswerSet:
        self.last = self.keep(self.inner, question, query_vector, chunks, sentences, fused_scores or [])
        return AnswerSet([], 0.0, True)


@contextmanager
def recording(pipeline: Pipeline, keep: Keep) -> Iterator[Recorder]:
    recorder = Recorder(pipeline.answerer, keep)
    pipeline.answerer = recorder
    try:
        yield recorder
    finally:
        pipeline.answerer = recorder.inner
