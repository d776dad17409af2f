"""Extractive answers: the best sentences of the retrieved passages, and the short span in each.

The sentences of the top passages are ranked by :class:`~rag.sentence_rank.SentenceRanker` (their
similarity to the question — vectors computed at ingest — with the question words they share, how
sure retrieval was of their passage, and a few more cheap signals), then
:class:`~rag.spans.SpanExtractor` picks the part of each that answers it. Every answer is a slice of
a stored document, so its citation is exact by construction.

Whether to answer at all is decided by :class:`NoAnswerModel` from signals of the whole result
(how similar the best sentence is, how much of the question it covers, how sure retrieval and the
span scorer are); its output is the ``confidence`` reported with every result.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index import StoredChunk
from index.lexical import tokenize
from index.sentence_table import SentenceVectors
from rag.sentence_rank import SentenceRanker, sentence_features
from rag.spans import Span, SpanExtractor
from rag.types import Answer, Citation

__all__ = ["Answerer", "AnswerSet", "Candidates", "NoAnswerModel", "citation_for", "DEFAULT_NO_ANSWER_MODEL",
           "SIGNALS"]

DEFAULT_NO_ANSWER_MODEL = Path(__file__).with_name("models") / "no_answer.json"
SIGNALS = ("sentence", "sentence_gap", "coverage", "span", "fused", "fused_gap", "ranker")
_NO_SPAN = -5.0  # the span signal when no candidate span beat the whole sentence


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))


def citation_for(chunk: StoredChunk, start: int, end: int) -> Citation:
    return Citation(doc_id=chunk.doc_id, title=chunk.title, source=chunk.source, page=chunk.page_of(start),
                    chunk_id=chunk.chunk_id, char_start=start, char_end=end)


@dataclass(frozen=True, slots=True)
class NoAnswerModel:
    """``confidence = sigmoid(bias + sum(weight * signal))``; below ``threshold`` means "no answer"."""

    weights: dict[str, float]
    bias: float
    threshold: float

    def confidence(self, signals: dict[str, float]) -> float:
        return _sigmoid(self.bias + sum(w * signals[name] for name, w in self.weights.items()))

    @classmethod
    def load(cls, path: Path = DEFAULT_NO_ANSWER_MODEL) -> NoAnswerModel:
        body = json.loads(path.read_text())
        return cls(weights=body["weights"], bias=body["bias"], threshold=body["threshold"])

    def save(self, path: Path, *, about: dict | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"weights": self.weights, "bias": self.bias, "threshold": self.threshold,
                                    "about": about or {}}, indent=1))


@dataclass(frozen=True, slots=True)
class AnswerSet:
    answers: list[Answer]
    confidence: float
    no_answer: bool
    signals: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Candidates:
    """The candidate sentences of one question, in passage order (a sentence repeated by overlapping
    chunks appears once); ``fused`` is each one's passage's retrieval score."""

    chunks: list[StoredChunk]
    starts: list[int]
    ends: list[int]
    texts: list[str]
    similarity: np.ndarray
    fused: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)

    def features(self, question: str) -> np.ndarray:
        return sentence_features(question, self.texts, similarity=self.similarity, fused=self.fused,
                                 titles=[c.title for c in self.chunks])


class Answerer:
    """Picks answers from the top passages, or decides there is none.

    Args:
        passages: how many top passages to take sentences from.
        max_answers: how many answers to return at most.
        spans: finds short answers inside sentences; ``None`` returns whole sentences.
        ranker: orders the candidate sentences; default: the shipped model.
        no_answer: the abstention model; default: the shipped one.
        no_answer_threshold: overrides the model's threshold (0 never abstains, 1 always does).
        span_min_score: answers after the first get a short span only if the ranker gives their
            sentence at least this probability of holding the answer; the rest stay whole sentences.
    """

    def __init__(self, *, passages: int = 3, max_answers: int = 3, spans: SpanExtractor | None = None,
                 ranker: SentenceRanker | None = None, no_answer: NoAnswerModel | None = None,
                 no_answer_threshold: float | None = None, span_min_score: float = 0.5) -> None:
        self.passages = passages
        self.max_answers = max_answers
        self.spans = spans
        self.span_min_score = span_min_score
        self.ranker = ranker or SentenceRanker.load()
        self.no_answer = no_answer or NoAnswerModel.load()
        self.threshold = self.no_answer.threshold if no_answer_threshold is None else no_answer_threshold

    def candidates(self, query_vector: np.ndarray, chunks: list[StoredChunk], sentences: SentenceVectors, *,
                   fused_scores: list[float] | None = None) -> Candidates:
        """The sentences of the top passages, with what the ranker needs to know about each."""
        fused_scores = fused_scores or []
        found: list[tuple[StoredChunk, int, int, float]] = []
        vectors: list[np.ndarray] = []
        seen: set[tuple[str, int, int]] = set()
        for rank, chunk in enumerate(chunks[: self.passages]):
            if chunk.chunk_id not in sentences:
                continue
            spans, chunk_vectors = sentences[chunk.chunk_id]
            fused = fused_scores[rank] if rank < len(fused_scores) else 0.0
            for (start, end), vector in zip(spans, chunk_vectors, strict=True):
                if (chunk.doc_id, start, end) not in seen:  # overlapping chunks repeat sentences
                    seen.add((chunk.doc_id, start, end))
                    found.append((chunk, start, end, fused))
                    vectors.append(vector)
        query = np.asarray(query_vector, dtype=np.float32).ravel()
        similarity = np.stack(vectors) @ query if vectors else np.zeros(0, dtype=np.float32)
        return Candidates(
            chunks=[f[0] for f in found], starts=[f[1] for f in found], ends=[f[2] for f in found],
            texts=[self._text(f[0], f[1], f[2]) for f in found], similarity=similarity,
            fused=np.array([f[3] for f in found], dtype=np.float64))

    def answer(self, question: str, query_vector: np.ndarray, chunks: list[StoredChunk],
               sentences: SentenceVectors, *, fused_scores: list[float] | None = None) -> AnswerSet:
        found = self.candidates(query_vector, chunks, sentences, fused_scores=fused_scores)
        if not len(found):
            return AnswerSet([], 0.0, True)
        ranked = self.ranker.score(found.features(question))
        order = np.argsort(-ranked, kind="stable")[: self.max_answers]
        texts = [found.texts[i] for i in order]
        scores = [_sigmoid(float(ranked[i])) for i in order]
        short = self._short_spans(question, texts, scores)
        answers = []  # best first; the score is the ranker's probability that the sentence holds the answer
        for i, text, score, span in zip(order, texts, scores, short, strict=True):
            chunk, start, end = found.chunks[i], found.starts[i], found.ends[i]
            a, b = (start + span.start, start + span.end) if span is not None else (start, end)
            answers.append(Answer(text=self._text(chunk, a, b), score=score, sentence=text,
                                  sentence_start=start, sentence_end=end, citation=citation_for(chunk, a, b)))
        signals = self._signals(question, found.similarity, order, texts[0], short[0], fused_scores or [],
                                float(ranked[order[0]]))
        confidence = self.no_answer.confidence(signals)
        no_answer = confidence < self.threshold
        return AnswerSet([] if no_answer else answers, confidence, no_answer, signals)

    def _short_spans(self, question: str, texts: list[str], scores: list[float]) -> list[Span | None]:
        """The short span of the top answer, and of each other answer its sentence likely holds.

        A short span cut from a sentence that probably does not answer is more likely wrong than
        useful; the whole sentence at least shows the context. It also saves a parse (~3 ms each).
        """
        if self.spans is None:
            return [None] * len(texts)
        wanted = [n for n, score in enumerate(scores) if n == 0 or score >= self.span_min_score]
        found = dict(zip(wanted, self.spans.best_spans(question, [texts[n] for n in wanted]), strict=True))
        return [found.get(n) for n in range(len(texts))]

    @staticmethod
    def _signals(question: str, similarity: np.ndarray, order: np.ndarray, best_sentence: str,
                 best_span, fused: list[float], ranker: float) -> dict[str, float]:
        asked = set(tokenize(question))
        covered = len(asked & set(tokenize(best_sentence))) / len(asked) if asked else 0.0
        ranked = similarity[order]  # the chosen sentences' similarities: the gap may now be negative
        return {
            "sentence": float(ranked[0]),
            "sentence_gap": float(ranked[0] - ranked[1]) if len(ranked) > 1 else float(ranked[0]),
            "coverage": covered,
            "span": best_span.score if best_span is not None else _NO_SPAN,
            "fused": fused[0] if fused else 0.0,
            "fused_gap": fused[0] - fused[1] if len(fused) > 1 else 0.0,
            "ranker": ranker,
        }

    @staticmethod
    def _text(chunk: StoredChunk, start: int, end: int) -> str:
        return chunk.text[start - chunk.char_start:end - chunk.char_start]
