"""Hybrid retrieval: three signals, each standardized over the candidate pool, then summed.

The signals are a chunk's dense similarity to the question, the similarity of its best sentence
(questions usually paraphrase one sentence, and a chunk's average blurs it), and BM25 over the
chunk with its document title. Each list contributes its top candidates; a candidate missing from
a list gets that list's lowest score (an upper bound on what it would have scored, and close).
Measured on SQuAD 2.0 with no fitted weights: recall@1 0.85 against 0.75 for plain reciprocal
rank fusion of chunk-dense and BM25 (see the README).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from index import Snapshot

__all__ = ["RetrievalMode", "RETRIEVAL_MODES", "Candidate", "Retriever", "SIGNALS"]

RetrievalMode = Literal["hybrid", "dense", "bm25"]
RETRIEVAL_MODES: tuple[str, ...] = get_args(RetrievalMode)
SIGNALS = ("dense", "sentence", "lexical")
_MODE_SIGNALS: dict[str, tuple[str, ...]] = {"hybrid": SIGNALS, "dense": ("dense", "sentence"), "bm25": ("lexical",)}


@dataclass(frozen=True, slots=True)
class Candidate:
    """A retrieved chunk: its fused score and the raw score of each signal (None where unused)."""

    chunk_id: int
    score: float
    dense: float | None = None
    sentence: float | None = None
    lexical: float | None = None


def _best_per_chunk(scores: np.ndarray, chunk_ids: np.ndarray) -> dict[int, float]:
    best: dict[int, float] = {}
    for score, chunk_id in zip(scores.tolist(), chunk_ids.tolist(), strict=True):
        if chunk_id not in best:  # lists come best first
            best[chunk_id] = score
    return best


class Retriever:
    """Finds the chunks most relevant to a question.

    Args:
        candidates: how many chunks each signal contributes to the pool before fusion.
        sentences_per_chunk: sentences fetched per wanted chunk from the sentence index.
    """

    def __init__(self, *, candidates: int = 50, sentences_per_chunk: int = 4) -> None:
        self.candidates = candidates
        self.sentences_per_chunk = sentences_per_chunk

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
        if name == "dense":
            scores, ids = snapshot.dense(vector, n)
        else:
            scores, ids = snapshot.sentence_search(vector, n * self.sentences_per_chunk)
        found = _best_per_chunk(scores, ids)
        return found, (min(found.values()) if found else 0.0)

    def search(self, snapshot: Snapshot, question: str, query_vector: np.ndarray | None, *, k: int,
               mode: RetrievalMode = "hybrid") -> list[Candidate]:
        if mode not in RETRIEVAL_MODES:
            raise ValueError(f"mode must be one of {RETRIEVAL_MODES}, not {mode!r}")
        n = max(self.candidates, k)
        signals = {name: self._signal(name, snapshot, question, query_vector, n) for name in _MODE_SIGNALS[mode]}
        pool = sorted(set().union(*(found for found, _ in signals.values())))
        if not pool:
            return []
        raw = {name: np.array([found.get(c, floor) for c in pool], dtype=np.float64)
               for name, (found, floor) in signals.items()}
        fused = np.zeros(len(pool))
        for values in raw.values():
            spread = values.std()
            fused += (values - values.mean()) / spread if spread > 1e-9 else 0.0
        order = np.argsort(-fused, kind="stable")[:k]
        return [Candidate(pool[i], float(fused[i]) if len(raw) > 1 else float(next(iter(raw.values()))[i]),
                          **{name: float(values[i]) for name, values in raw.items()})
                for i in order]
