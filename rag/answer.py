"""Extractive answers: the trained reader reads windows around the best sentences of the top passages.

1. The sentences of the top passages are ranked by :class:`~rag.sentence_rank.SentenceRanker`
   (similarity to the question, the question words they share, how sure retrieval was of their
   passage: cheap, no model run).
2. The best few become windows: each with its neighbouring sentences in its chunk, up to
   ``window_chars`` characters; windows that overlap merge. The reader
   (:class:`~rag.reader.runtime.Reader`) reads all of them in one batched call.
3. Each span the reader proposes is scored by how much the reader prefers it to "no answer in this
   window" (its *margin*) plus ``ranker_weight`` times the ranker's log-odds for its sentence:
   evidence from retrieval and from reading, combined across passages.
4. :class:`NoAnswerModel` turns signals of the best answer (margin, ranker, retrieval scores) into
   the ``confidence`` reported with every result; below its threshold the answer is "none".

Every answer is a slice of a stored document, so its citation is exact by construction.
"""
from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from domain.types import Answer, Citation
from index import SentenceVectors, StoredChunk
from rag.model_file import read_model_file, write_model_file
from rag.reader.model_dir import DEFAULT_READER_DIR
from rag.sentence_rank import SentenceRanker, sentence_features

if TYPE_CHECKING:
    from rag.reader.runtime import Reader

__all__ = ["Answerer", "AnswerSet", "Candidates", "Guess", "NoAnswerModel", "citation_for", "SIGNALS", "NO_ANSWER_FILE"]

NO_ANSWER_FILE = "no_answer.json"  # in the reader directory: fitted for that reader
SIGNALS = ("margin", "span", "ranker", "ranker_top", "sentence", "fused", "fused_gap")


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))


def citation_for(chunk: StoredChunk, start: int, end: int) -> Citation:
    return Citation(doc_id=chunk.doc_id, title=chunk.title, source=chunk.source, page=chunk.page_of(start),
                    chunk_id=chunk.chunk_id, char_start=start, char_end=end)


@dataclass(frozen=True, slots=True)
class NoAnswerModel:
    """``confidence = sigmoid(bias + sum(weight * signal))``; below ``threshold`` means "no answer".

    ``reading_threshold`` is the margin below which :meth:`Answerer.read_chunks` (a question asked of
    one given document) says "no answer"; ``ranker_weight`` the weight of the sentence ranker's
    log-odds beside the reader's margin (:class:`Guess`), fitted with it.
    """

    weights: dict[str, float]
    bias: float
    threshold: float
    reading_threshold: float = 0.0
    ranker_weight: float = 1.0

    def confidence(self, signals: dict[str, float]) -> float:
        return _sigmoid(self.bias + sum(w * signals[name] for name, w in self.weights.items()))

    @classmethod
    def untrained(cls) -> NoAnswerModel:
        """For a reader without a fitted model: answer when the reader prefers its span to "none"."""
        return cls(weights={"margin": 1.0}, bias=0.0, threshold=0.5, reading_threshold=0.0)

    @classmethod
    def load(cls, path: Path) -> NoAnswerModel:
        body = read_model_file(path, required=("weights", "bias", "threshold"))
        return cls(weights=body["weights"], bias=body["bias"], threshold=body["threshold"],
                   reading_threshold=body.get("reading_threshold", 0.0), ranker_weight=body.get("ranker_weight", 1.0))

    @classmethod
    def for_reader(cls, directory: Path) -> NoAnswerModel:
        path = Path(directory) / NO_ANSWER_FILE
        return cls.load(path) if path.is_file() else cls.untrained()

    def save(self, path: Path, *, about: dict | None = None) -> None:
        write_model_file(path, {"weights": self.weights, "bias": self.bias, "threshold": self.threshold,
                                "reading_threshold": self.reading_threshold, "ranker_weight": self.ranker_weight,
                                "about": about or {}})


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


@dataclass(frozen=True, slots=True)
class _Window:
    chunk: StoredChunk
    start: int  # document offsets
    end: int


@dataclass(frozen=True, slots=True)
class Guess:
    """A span the reader proposes: document offsets ``[start, end)`` in ``chunk``.

    ``margin`` is its start+end logit (``span``) minus its window's no-answer logit; ``ranker`` the
    sentence ranker's log-odds for the sentence it starts in (``sentence``, an index into the
    candidates); ``score`` is ``margin + ranker_weight * ranker``, what answers are ordered by.
    """

    chunk: StoredChunk
    start: int
    end: int
    margin: float
    span: float
    ranker: float
    sentence: int | None  # index into the candidates (None: it starts between them)
    score: float

    @property
    def text(self) -> str:
        """The words it proposes."""
        return _text(self.chunk, self.start, self.end)


class Answerer:
    """Picks answers from the top passages with the reader, or decides there is none.

    Args:
        reader: the extractive reader; default: one loaded from ``reader_dir`` on first use.
        reader_dir: a reader directory; default: the one shipped in the package.
        passages: how many top passages to take sentences from.
        read_sentences: how many of the best-ranked sentences the reader reads (each with its
            neighbours): the amount of text read per question.
        window_chars: how much context (characters) each window holds at most.
        max_answers: how many answers to return at most.
        ranker: orders the candidate sentences; default: the shipped model.
        ranker_weight: how much the ranker's log-odds add to the reader's margin; default: the
            weight fitted with the no-answer model.
        no_answer: the abstention model; default: the one fitted for the reader.
        no_answer_threshold: overrides the model's threshold (0 never abstains, 1 always does).
    """

    def __init__(self, *, reader: Reader | None = None, reader_dir: str | os.PathLike[str] | None = None,
                 passages: int = 3, read_sentences: int = 4,
                 window_chars: int = 700, max_answers: int = 3, ranker: SentenceRanker | None = None,
                 ranker_weight: float | None = None, no_answer: NoAnswerModel | None = None,
                 no_answer_threshold: float | None = None) -> None:
        self._reader = reader
        self._reader_lock = threading.Lock()
        self.reader_dir = Path(reader.directory if reader is not None else reader_dir or DEFAULT_READER_DIR)
        self.passages = passages
        self.read_sentences = read_sentences
        self.window_chars = window_chars
        self.max_answers = max_answers
        self.ranker = ranker or SentenceRanker.load()
        self.no_answer = no_answer or NoAnswerModel.for_reader(self.reader_dir)
        self.ranker_weight = self.no_answer.ranker_weight if ranker_weight is None else ranker_weight
        self.threshold = self.no_answer.threshold if no_answer_threshold is None else no_answer_threshold

    @property
    def reader(self) -> Reader:
        """The reader, loaded on first use (a second or so; its ONNX file is made once and cached)."""
        if self._reader is None:
            with self._reader_lock:
                if self._reader is None:
                    from rag.reader.runtime import Reader

                    self._reader = Reader(self.reader_dir)
        return self._reader

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
            texts=[_text(f[0], f[1], f[2]) for f in found], similarity=similarity,
            fused=np.array([f[3] for f in found], dtype=np.float64))

    def guesses(self, question: str, query_vector: np.ndarray, chunks: list[StoredChunk],
                sentences: SentenceVectors, *, fused_scores: list[float] | None = None
                ) -> tuple[Candidates, list[Guess], dict[str, float]]:
        """The candidate sentences, the reader's answers best first (distinct ranges), and the
        no-answer signals of the best one (empty when there is none)."""
        found = self.candidates(query_vector, chunks, sentences, fused_scores=fused_scores)
        if not len(found):
            return found, [], {}
        ranked = self.ranker.score(found.features(question)).astype(np.float64)
        order = np.argsort(-ranked, kind="stable")
        windows = self._windows(found, order[: self.read_sentences])
        guesses = self._read(question, windows, found, ranked)
        if not guesses:
            return found, [], {}
        best = guesses[0]
        fused = fused_scores or []
        signals = {
            "margin": best.margin, "span": best.span, "ranker": best.ranker, "ranker_top": float(ranked[order[0]]),
            "sentence": float(found.similarity[best.sentence]) if best.sentence is not None else 0.0,
            "fused": fused[0] if fused else 0.0, "fused_gap": fused[0] - fused[1] if len(fused) > 1 else 0.0,
        }
        return found, guesses, signals

    def answer(self, question: str, query_vector: np.ndarray, chunks: list[StoredChunk],
               sentences: SentenceVectors, *, fused_scores: list[float] | None = None) -> AnswerSet:
        found, guesses, signals = self.guesses(question, query_vector, chunks, sentences, fused_scores=fused_scores)
        if not guesses:
            return AnswerSet([], 0.0, True)
        confidence = self.no_answer.confidence(signals)
        no_answer = confidence < self.threshold
        answers = [] if no_answer else [self._answer(g, found) for g in guesses[: self.max_answers]]
        return AnswerSet(answers, confidence, no_answer, signals)

    def read_chunks(self, question: str, chunks: list[StoredChunk], sentences: SentenceVectors) -> AnswerSet:
        """Answer from these chunks only (a question asked of one document): the reader reads every
        chunk whole, and abstains when its best margin is below the fitted ``reading_threshold``."""
        spans, null = self.reader.read(question, [c.text for c in chunks], top_k=self.max_answers)
        guesses: list[tuple[float, float, StoredChunk, int, int]] = []
        for chunk, chunk_spans, chunk_null in zip(chunks, spans, null, strict=True):
            for g in chunk_spans:
                guesses.append((g.score - float(chunk_null), g.score, chunk, chunk.char_start + g.start,
                                chunk.char_start + g.end))
        guesses = _distinct(sorted(guesses, key=lambda g: -g[0]), key=lambda g: (g[2].doc_id, g[3], g[4]))
        if not guesses:
            return AnswerSet([], 0.0, True)
        margin = guesses[0][0]
        confidence = _sigmoid(margin)
        no_answer = margin < self.no_answer.reading_threshold
        answers = []
        if not no_answer:
            for g_margin, _, chunk, start, end in guesses[: self.max_answers]:
                offsets = sentences.get(chunk.chunk_id, ([], None))[0]
                answers.append(_cited_answer(chunk, start, end, g_margin, offsets))
        return AnswerSet(answers, confidence, no_answer, {"margin": margin})

    @property
    def reading_threshold(self) -> float:
        """``read_chunks``'s threshold on the confidence scale (``sigmoid(reading margin)``)."""
        return _sigmoid(self.no_answer.reading_threshold)

    def _windows(self, found: Candidates, chosen: np.ndarray) -> list[_Window]:
        """Each chosen sentence with its neighbours in its chunk, up to ``window_chars``; overlapping
        windows of one chunk merged."""
        by_chunk: dict[int, list[int]] = {}
        for i, chunk in enumerate(found.chunks):
            by_chunk.setdefault(chunk.chunk_id, []).append(i)
        spans: dict[int, list[tuple[int, int]]] = {}
        for i in chosen.tolist():
            siblings = by_chunk[found.chunks[i].chunk_id]
            at = siblings.index(i)
            lo = hi = at
            start, end = found.starts[i], found.ends[i]
            grew = True
            while grew:
                grew = False
                for nxt in (lo - 1, hi + 1):
                    if 0 <= nxt < len(siblings):
                        j = siblings[nxt]
                        a, b = min(start, found.starts[j]), max(end, found.ends[j])
                        if b - a <= self.window_chars:
                            start, end, grew = a, b, True
                            lo, hi = min(lo, nxt), max(hi, nxt)
            spans.setdefault(found.chunks[i].chunk_id, []).append((start, end))
        windows = []
        for chunk_id, ranges in spans.items():
            chunk = found.chunks[by_chunk[chunk_id][0]]
            for start, end in _merge(ranges):
                windows.append(_Window(chunk, start, end))
        return windows

    def _read(self, question: str, windows: list[_Window], found: Candidates, ranked: np.ndarray) -> list[Guess]:
        spans, null = self.reader.read(question, [_text(w.chunk, w.start, w.end) for w in windows],
                                       top_k=self.max_answers)
        guesses = []
        for window, window_spans, window_null in zip(windows, spans, null, strict=True):
            for g in window_spans:
                start, end = window.start + g.start, window.start + g.end
                sentence = _containing(found, window.chunk, start)
                margin = g.score - float(window_null)
                ranker = float(ranked[sentence]) if sentence is not None else float(ranked.min())
                guesses.append(Guess(window.chunk, start, end, margin, g.score, ranker, sentence,
                                     margin + self.ranker_weight * ranker))
        guesses.sort(key=lambda g: -g.score)
        return _distinct(guesses, key=lambda g: (g.chunk.doc_id, g.start, g.end))

    @staticmethod
    def _answer(guess: Guess, found: Candidates) -> Answer:
        sentences = [(s, e) for c, s, e in zip(found.chunks, found.starts, found.ends, strict=True)
                     if c.doc_id == guess.chunk.doc_id]
        return _cited_answer(guess.chunk, guess.start, guess.end, guess.score, sentences)


def _text(chunk: StoredChunk, start: int, end: int) -> str:
    return chunk.text[start - chunk.char_start:end - chunk.char_start]


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _containing(found: Candidates, chunk: StoredChunk, offset: int) -> int | None:
    for i, (c, s, e) in enumerate(zip(found.chunks, found.starts, found.ends, strict=True)):
        if c.doc_id == chunk.doc_id and s <= offset < e:
            return i
    return None


def _cited_answer(chunk: StoredChunk, start: int, end: int, score: float,
                  sentences: list[tuple[int, int]]) -> Answer:
    """The span ``[start, end)`` of ``chunk`` as an answer, with the sentence(s) of ``sentences``
    (document offsets) it lies in; the span is its own sentence when none covers it."""
    covering = [(s, e) for s, e in sentences if s < end and e > start]
    s_start = min([start, *(s for s, _ in covering)])
    s_end = max([end, *(e for _, e in covering)])
    return Answer(text=_text(chunk, start, end), score=_sigmoid(score), sentence=_text(chunk, s_start, s_end),
                  sentence_start=s_start, sentence_end=s_end, citation=citation_for(chunk, start, end))


def _distinct(items: list, *, key) -> list:
    """Best first, without items whose character range overlaps a better one of the same document."""
    kept: list = []
    taken: dict[str, list[tuple[int, int]]] = {}
    for item in items:
        doc, start, end = key(item)
        if any(s < end and start < e for s, e in taken.get(doc, [])):
            continue
        taken.setdefault(doc, []).append((start, end))
        kept.append(item)
    return kept
