"""Hybrid retrieval: three signals, each standardized over the candidate pool, then a weighted sum.

The pool is the top chunks by dense similarity to the question and by BM25 over the chunk with its
document title; a candidate missing from one of those lists gets that list's lowest score (an
upper bound on what it would have scored, and close). The third signal is the similarity of each
pooled chunk's best sentence (questions usually paraphrase one sentence, and a chunk's average
blurs it), computed exactly from the sentence vectors stored at ingest: a few hundred dot
products instead of a search over every sentence in the collection. Measured on SQuAD 2.0:
recall@1 0.85 against 0.75 for plain reciprocal rank fusion of chunk-dense and BM25 (README).
"""
from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from domain.modes import RETRIEVAL_MODES, RetrievalMode
from index import SentenceVectors, Snapshot
from rag.model_file import read_model_file

__all__ = ["RetrievalMode", "RETRIEVAL_MODES", "Candidate", "Retriever", "SIGNALS", "fusion_weights", "DEFAULT_FUSION_FILE", "fuse"]

SIGNALS = ("dense", "sentence", "lexical")
# Written by `rag fit fusion` (eval/fitting/fusion.py: article-level cross-validation on SQuAD 2.0 training
# articles; the file holds its provenance and held-out figures).
DEFAULT_FUSION_FILE = Path(__file__).with_name("models") / "fusion_weights.json"


def fusion_weights(path: Path = DEFAULT_FUSION_FILE) -> dict[str, float]:
    """The fitted weights of each signal (read when a retriever is made, not at import)."""
    return dict(read_model_file(path, required=("weights",))["weights"])


_MODE_SIGNALS: dict[str, tuple[str, ...]] = {"hybrid": SIGNALS, "dense": ("dense", "sentence"), "bm25": ("lexical",)}


@dataclass(frozen=True, slots=True)
class Candidate:
    """A retrieved chunk: its fused score and the raw score of each signal (None where unused)."""

    chunk_id: int
    score: float
    dense: float | None = None
    sentence: float | None = None
    lexical: float | None = None


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _side_by_side() -> ThreadPoolExecutor:
    """The threads that run a second search while this one runs the first: one pool for the process,
    made on first use (a server's request threads share it; the searches wait on I/O or native code)."""
    global _pool
    if _pool is None:  # the lock only until the pool exists, not on every question
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="retrieve")
    return _pool


def _best_per_chunk(scores: np.ndarray, chunk_ids: np.ndarray) -> dict[int, float]:
    best: dict[int, float] = {}
    for score, chunk_id in zip(scores.tolist(), chunk_ids.tolist(), strict=True):
        if chunk_id not in best:  # lists come best first
            best[chunk_id] = score
    return best


class Retriever:
    """Finds the chunks most relevant to a question.

    Args:
        candidates: how many chunks the dense and the lexical signal each contribute to the pool.
        weights: each signal's weight in the fused score; default :func:`fusion_weights`.
    """

    def __init__(self, *, candidates: int = 50, weights: Mapping[str, float] | None = None) -> None:
        self.candidates = candidates
        self.weights = fusion_weights() if weights is None else dict(weights)
        if set(self.weights) != set(SIGNALS):
            raise ValueError(f"weights must name exactly the signals {SIGNALS}")

    def _signal(self, name: str, snapshot: Snapshot, question: str, vector: np.ndarray | None,
                n: int) -> tuple[dict[int, float], float]:
        """One signal's top chunks with scores, and the score to assume for chunks it did not return."""
        if name == "lexical":
            scores, ids = snapshot.lexical_search(question, n)
            found = _best_per_chunk(scores, ids)
            # Fewer than asked means every chunk sharing a term is here: the rest score zero.
            return found, (min(found.values()) if len(found) >= n else 0.0)
        if vector is None:
            raise ValueError("dense retrieval needs the query vector")
        scores, ids = snapshot.dense(vector, n)
        found = _best_per_chunk(scores, ids)
        return found, (min(found.values()) if found else 0.0)

    @staticmethod
    def _best_sentences(snapshot: Snapshot, pool: list[int], vector: np.ndarray,
                        keep: SentenceVectors | None) -> tuple[dict[int, float], float]:
        """Each pooled chunk's best sentence similarity, from the sentence vectors stored at ingest."""
        query = np.asarray(vector, dtype=np.float32).ravel()
        sentences = snapshot.sentences(pool)
        if keep is not None:
            keep.update(sentences)
        found = {chunk_id: float((vectors @ query).max()) for chunk_id, (_, vectors) in sentences.items() if len(vectors)}
        return found, (min(found.values()) if found else 0.0)

    def pool(self, snapshot: Snapshot, question: str, query_vector: np.ndarray | None, *, k: int,
             mode: RetrievalMode = "hybrid", sentences: SentenceVectors | None = None
             ) -> tuple[list[int], dict[str, np.ndarray]]:
        """The candidate chunk ids, and each signal's raw score for every one of them.

        ``sentences``, when given, receives the pooled chunks' sentences (offsets and vectors, as
        :meth:`Snapshot.sentences` returns them) so that answering need not fetch them again.
        """
        if mode not in RETRIEVAL_MODES:
            raise ValueError(f"mode must be one of {RETRIEVAL_MODES}, not {mode!r}")
        n = max(self.candidates, k)
        searched = [name for name in _MODE_SIGNALS[mode] if name != "sentence"]
        # Dense and lexical search side by side: on a remote engine each is a round trip.
        futures = {name: _side_by_side().submit(self._signal, name, snapshot, question, query_vector, n)
                   for name in searched[1:]}
        signals = {searched[0]: self._signal(searched[0], snapshot, question, query_vector, n)}
        signals.update({name: future.result() for name, future in futures.items()})
        pool = sorted(set().union(*(found for found, _ in signals.values())))
        if pool and "sentence" in _MODE_SIGNALS[mode]:
            signals["sentence"] = self._best_sentences(snapshot, pool, query_vector, sentences)
        return pool, {name: np.array([found.get(c, floor) for c in pool], dtype=np.float64)
                      for name, (found, floor) in signals.items()}

    def search(self, snapshot: Snapshot, question: str, query_vector: np.ndarray | None, *, k: int,
               mode: RetrievalMode = "hybrid", sentences: SentenceVectors | None = None) -> list[Candidate]:
        """The ``k`` best chunks, best first (``sentences``: as for :meth:`pool`)."""
        pool, raw = self.pool(snapshot, question, query_vector, k=k, mode=mode, sentences=sentences)
        if not pool:
            return []
        fused = fuse(raw, self.weights)
        order = np.argsort(-fused, kind="stable")[:k]
        return [Candidate(pool[i], float(fused[i]) if len(raw) > 1 else float(next(iter(raw.values()))[i]),
                          **{name: float(values[i]) for name, values in raw.items()})
                for i in order]


def fuse(raw: dict[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """The weighted sum of each signal standardized over the pool (a constant signal adds nothing)."""
    fused = np.zeros(len(next(iter(raw.values()))))
    for name, values in raw.items():
        spread = values.std()
        if spread > 1e-9:
            fused += weights[name] * (values - values.mean()) / spread
    return fused
