"""Hybrid retrieval: dense (FAISS) and lexical (BM25) candidates fused by reciprocal rank."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from index import Snapshot

__all__ = ["RetrievalMode", "RETRIEVAL_MODES", "Candidate", "Retriever", "reciprocal_rank_fusion"]

RetrievalMode = Literal["hybrid", "dense", "bm25"]
RETRIEVAL_MODES: tuple[str, ...] = get_args(RetrievalMode)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A retrieved chunk: its fused score and, where it was found, its rank in each list."""

    chunk_id: int
    score: float
    dense_rank: int | None = None
    lexical_rank: int | None = None


def reciprocal_rank_fusion(rankings: list[np.ndarray], *, rrf_k: float = 60.0,
                           weights: list[float] | None = None) -> list[tuple[int, float]]:
    """Fuse ranked id lists: ``score(id) = sum(weight / (rrf_k + rank))`` with 1-based ranks."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, chunk_id in enumerate(ranking.tolist(), start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight / (rrf_k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


class Retriever:
    """Finds the chunks most relevant to a question.

    Args:
        candidates: how many chunks each of dense and BM25 contributes before fusion.
        rrf_k: the reciprocal-rank-fusion constant.
    """

    def __init__(self, *, candidates: int = 50, rrf_k: float = 60.0) -> None:
        self.candidates = candidates
        self.rrf_k = rrf_k

    def search(self, snapshot: Snapshot, question: str, query_vector: np.ndarray | None, *, k: int,
               mode: RetrievalMode = "hybrid") -> list[Candidate]:
        if mode not in RETRIEVAL_MODES:
            raise ValueError(f"mode must be one of {RETRIEVAL_MODES}, not {mode!r}")
        n = max(self.candidates, k)
        dense_ids = lexical_ids = np.zeros(0, dtype=np.int64)
        if mode in ("hybrid", "dense"):
            if query_vector is None:
                raise ValueError("dense retrieval needs the query vector")
            dense_scores, dense_ids = snapshot.dense(query_vector, n)
            if mode == "dense":
                return [Candidate(int(i), float(s), dense_rank=r) for r, (i, s) in
                        enumerate(zip(dense_ids[:k], dense_scores[:k], strict=True), start=1)]
        if mode in ("hybrid", "bm25"):
            lexical_scores, lexical_ids = snapshot.lexical_search(question, n)
            if mode == "bm25":
                return [Candidate(int(i), float(s), lexical_rank=r) for r, (i, s) in
                        enumerate(zip(lexical_ids[:k], lexical_scores[:k], strict=True), start=1)]
        dense_rank = {int(i): r for r, i in enumerate(dense_ids.tolist(), start=1)}
        lexical_rank = {int(i): r for r, i in enumerate(lexical_ids.tolist(), start=1)}
        fused = reciprocal_rank_fusion([dense_ids, lexical_ids], rrf_k=self.rrf_k)
        return [Candidate(i, s, dense_rank.get(i), lexical_rank.get(i)) for i, s in fused[:k]]
