"""Extractive answers: the sentences of the retrieved passages that best answer the question.

Every answer is a slice of a stored document, so its citation is exact by construction.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index import StoredChunk
from rag.embed import Embedder
from rag.sentences import split_sentences
from rag.types import Answer, Citation

__all__ = ["Answerer", "AnswerSet", "citation_for"]


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
        embedder: embeds candidate sentences.
        passages: how many top passages to take sentences from.
        max_answers: how many answers to return at most.
        no_answer_threshold: below this best-sentence similarity the result is "no answer".
    """

    def __init__(self, embedder: Embedder, *, passages: int = 3, max_answers: int = 3,
                 no_answer_threshold: float = 0.3) -> None:
        self.embedder = embedder
        self.passages = passages
        self.max_answers = max_answers
        self.no_answer_threshold = no_answer_threshold

    def answer(self, query_vector: np.ndarray, chunks: list[StoredChunk]) -> AnswerSet:
        candidates: list[tuple[StoredChunk, int, int]] = []
        seen: set[tuple[str, int, int]] = set()
        for chunk in chunks[: self.passages]:
            for a, b in split_sentences(chunk.text):
                start, end = chunk.char_start + a, chunk.char_start + b
                if (chunk.doc_id, start, end) not in seen:  # overlapping chunks repeat sentences
                    seen.add((chunk.doc_id, start, end))
                    candidates.append((chunk, start, end))
        if not candidates:
            return AnswerSet([], 0.0, True)
        texts = [chunk.text[start - chunk.char_start:end - chunk.char_start] for chunk, start, end in candidates]
        similarity = self.embedder.encode_documents(texts) @ np.asarray(query_vector, dtype=np.float32).ravel()
        order = np.argsort(-similarity, kind="stable")[: self.max_answers]
        answers = [
            Answer(text=texts[i], score=float(similarity[i]), sentence=texts[i],
                   sentence_start=candidates[i][1], sentence_end=candidates[i][2],
                   citation=citation_for(candidates[i][0], candidates[i][1], candidates[i][2]))
            for i in order
        ]
        confidence = float(similarity[order[0]])
        no_answer = confidence < self.no_answer_threshold
        return AnswerSet([] if no_answer else answers, confidence, no_answer)
