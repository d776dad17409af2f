"""Extractive answers: the sentences of the retrieved passages that best answer the question.

Every answer is a slice of a stored document, so its citation is exact by construction.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from index import StoredChunk
from rag.embed import Embedder
from rag.sentences import split_sentences
from rag.types import Answer, Citation

__all__ = ["Answerer", "AnswerSet", "citation_for", "SentenceCache"]


def citation_for(chunk: StoredChunk, start: int, end: int) -> Citation:
    return Citation(doc_id=chunk.doc_id, title=chunk.title, source=chunk.source, page=chunk.page_of(start),
                    chunk_id=chunk.chunk_id, char_start=start, char_end=end)


@dataclass(frozen=True, slots=True)
class AnswerSet:
    answers: list[Answer]
    confidence: float
    no_answer: bool


class SentenceCache:
    """Sentence offsets and vectors per chunk id, least recently used out.

    Chunk ids are never reused for other text, so an entry never goes stale.
    """

    def __init__(self, embedder: Embedder, *, size: int = 4096) -> None:
        self.embedder = embedder
        self.size = size
        self._entries: OrderedDict[int, tuple[list[tuple[int, int]], np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, chunks: list[StoredChunk]) -> list[tuple[list[tuple[int, int]], np.ndarray]]:
        """For each chunk: its sentences as document offsets, and their vectors."""
        with self._lock:
            found = {c.chunk_id: self._entries[c.chunk_id] for c in chunks if c.chunk_id in self._entries}
            for chunk_id in found:
                self._entries.move_to_end(chunk_id)
        missing = [c for c in chunks if c.chunk_id not in found]
        if missing:
            spans = [[(c.char_start + a, c.char_start + b) for a, b in split_sentences(c.text)] for c in missing]
            texts = [c.text[a - c.char_start:b - c.char_start] for c, s in zip(missing, spans, strict=True) for a, b in s]
            vectors = self.embedder.encode_documents(texts)
            offset = 0
            with self._lock:
                for chunk, chunk_spans in zip(missing, spans, strict=True):
                    entry = (chunk_spans, vectors[offset:offset + len(chunk_spans)])
                    offset += len(chunk_spans)
                    found[chunk.chunk_id] = self._entries[chunk.chunk_id] = entry
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return [found[c.chunk_id] for c in chunks]


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
        self.passages = passages
        self.max_answers = max_answers
        self.no_answer_threshold = no_answer_threshold
        self.sentences = SentenceCache(embedder)

    def answer(self, query_vector: np.ndarray, chunks: list[StoredChunk]) -> AnswerSet:
        top = chunks[: self.passages]
        candidates: list[tuple[StoredChunk, int, int]] = []
        vectors: list[np.ndarray] = []
        seen: set[tuple[str, int, int]] = set()
        for chunk, (spans, chunk_vectors) in zip(top, self.sentences.get(top), strict=True):
            for (start, end), vector in zip(spans, chunk_vectors, strict=True):
                if (chunk.doc_id, start, end) not in seen:  # overlapping chunks repeat sentences
                    seen.add((chunk.doc_id, start, end))
                    candidates.append((chunk, start, end))
                    vectors.append(vector)
        if not candidates:
            return AnswerSet([], 0.0, True)
        similarity = np.stack(vectors) @ np.asarray(query_vector, dtype=np.float32).ravel()
        order = np.argsort(-similarity, kind="stable")[: self.max_answers]
        answers = []
        for i in order:
            chunk, start, end = candidates[i]
            text = chunk.text[start - chunk.char_start:end - chunk.char_start]
            answers.append(Answer(text=text, score=float(similarity[i]), sentence=text, sentence_start=start,
                                  sentence_end=end, citation=citation_for(chunk, start, end)))
        confidence = float(similarity[order[0]])
        no_answer = confidence < self.no_answer_threshold
        return AnswerSet([] if no_answer else answers, confidence, no_answer)
