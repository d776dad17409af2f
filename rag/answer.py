"""Extractive answers: the best sentences of the retrieved passages, and the short span in each.

Sentences are ranked by their similarity to the question (their vectors are computed at ingest),
then :class:`~rag.spans.SpanExtractor` picks the part of each that answers it. Every answer is a
slice of a stored document, so its citation is exact by construction.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index import StoredChunk
from rag.spans import SpanExtractor
from rag.types import Answer, Citation

__all__ = ["Answerer", "AnswerSet", "citation_for"]

# For each chunk: its sentences as document offsets, and their vectors (computed at ingest).
SentenceVectors = dict[int, tuple[list[tuple[int, int]], np.ndarray]]


def citation_for(chunk: StoredChunk, start: int, end: int) -> Citation:
    return Citation(doc_id=chunk.doc_id, title=chunk.title, source=chunk.source, page=chunk.page_of(start),
                    chunk_id=chunk.chunk_id, char_start=start, char_end=end)


@dataclass(frozen=True, slots=True)
class AnswerSet:
    answers: list[Answer]
    confidence: float
    no_answer: bool


class Answerer:
    """Scores the sentences of the top passages against the question.

    Args:
        passages: how many top passages to take sentences from.
        max_answers: how many answers to return at most.
        no_answer_threshold: below this best-sentence similarity the result is "no answer".
        spans: finds short answers inside sentences; ``None`` returns whole sentences.
    """

    def __init__(self, *, passages: int = 3, max_answers: int = 3, no_answer_threshold: float = 0.3,
                 spans: SpanExtractor | None = None) -> None:
        self.passages = passages
        self.max_answers = max_answers
        self.no_answer_threshold = no_answer_threshold
        self.spans = spans

    def answer(self, question: str, query_vector: np.ndarray, chunks: list[StoredChunk],
               sentences: SentenceVectors) -> AnswerSet:
        top = [c for c in chunks[: self.passages] if c.chunk_id in sentences]
        candidates: list[tuple[StoredChunk, int, int]] = []
        vectors: list[np.ndarray] = []
        seen: set[tuple[str, int, int]] = set()
        for chunk in top:
            spans, chunk_vectors = sentences[chunk.chunk_id]
            for (start, end), vector in zip(spans, chunk_vectors, strict=True):
                if (chunk.doc_id, start, end) not in seen:  # overlapping chunks repeat sentences
                    seen.add((chunk.doc_id, start, end))
                    candidates.append((chunk, start, end))
                    vectors.append(vector)
        if not candidates:
            return AnswerSet([], 0.0, True)
        similarity = np.stack(vectors) @ np.asarray(query_vector, dtype=np.float32).ravel()
        order = np.argsort(-similarity, kind="stable")[: self.max_answers]
        confidence = float(similarity[order[0]])
        if confidence < self.no_answer_threshold:
            return AnswerSet([], confidence, True)
        texts = [self._text(*candidates[i]) for i in order]
        short = self.spans.best_spans(question, texts) if self.spans is not None else [None] * len(texts)
        answers = []
        for i, text, span in zip(order, texts, short, strict=True):
            chunk, start, end = candidates[i]
            a, b = (start + span.start, start + span.end) if span is not None else (start, end)
            answers.append(Answer(text=self._text(chunk, a, b), score=float(similarity[i]), sentence=text,
                                  sentence_start=start, sentence_end=end, citation=citation_for(chunk, a, b)))
        return AnswerSet(answers, confidence, False)

    @staticmethod
    def _text(chunk: StoredChunk, start: int, end: int) -> str:
        return chunk.text[start - chunk.char_start:end - chunk.char_start]
