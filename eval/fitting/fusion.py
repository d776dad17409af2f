"""The hybrid retriever's fusion weights (``rag/models/fusion_weights.json``), fitted on a grid with
held-out halves of articles.

Every answerable question's candidate pool and each signal's raw score are recorded once
(``Retriever.pool``, as ``Pipeline.ask`` sees them); each weight triple then re-ranks those pools
offline. For each random halving of the articles the triple that ranks best on one half
(recall@1 + recall@5 + mrr@10) is scored on the other half, and the swap: those are the held-out
figures. The shipped weights are the best triple on all the articles.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from eval.datasets import QAExample
from eval.fitting.halves import split_items
from eval.metrics import distinct
from eval.runner import RETRIEVE_K
from rag import FUSION_SIGNALS, Pipeline, fuse

__all__ = ["GRID", "SEED", "Pool", "FusionFit", "collect_pools", "ranks", "figures", "best_weights", "fit_fusion"]

GRID: tuple[dict[str, float], ...] = tuple(
    {"dense": d, "sentence": s, "lexical": 1.0} for d in (0.25, 0.5, 0.75, 1.0, 1.25) for s in (0.75, 1.0, 1.25, 1.5, 2.0))
SEED = 0  # the article halvings
MISSING = 10**6  # the rank of a gold document the pool does not hold


@dataclass(frozen=True)
class Pool:
    """One answerable question: its article, gold documents, and the pool's documents with raw signals."""

    article: str
    gold: frozenset[str]
    docs: list[str]
    raw: dict[str, np.ndarray]


@dataclass
class FusionFit:
    weights: dict[str, float]
    held_out: dict[str, float]  # weights fitted on the other half
    held_out_equal_weights: dict[str, float]  # the same questions, every signal weighing 1
    in_sample: dict[str, float]
    per_split: list[dict[str, float]] = field(default_factory=list)  # the weights each half chose


def collect_pools(pipeline: Pipeline, examples: Iterable[QAExample], *, k: int = RETRIEVE_K) -> list[Pool]:
    """The candidate pool and raw signals of each answerable example."""
    snapshot = pipeline.directory.snapshot()
    pools = []
    for example in examples:
        if not (example.answers and example.gold_doc_ids):
            continue
        question = example.question.strip()
        vector = pipeline.embedder.encode_queries([question])[0]
        pool, raw = pipeline.retriever.pool(snapshot, question, vector, k=k)
        stored = snapshot.chunks(pool)
        pools.append(Pool(article=example.gold_doc_ids[0].rsplit("#", 1)[0], gold=frozenset(example.gold_doc_ids),
                          docs=[stored[c].doc_id for c in pool], raw=raw))
    return pools


def ranks(pools: Sequence[Pool], weights: Mapping[str, float]) -> np.ndarray:
    """The 1-based rank of each question's first gold document under ``weights`` (:data:`MISSING` if absent)."""
    out = []
    for pool in pools:
        order = np.argsort(-fuse(pool.raw, weights), kind="stable")
        ranked = distinct(pool.docs[i] for i in order)
        out.append(next((r for r, doc in enumerate(ranked, 1) if doc in pool.gold), MISSING))
    return np.array(out)


def figures(r: np.ndarray) -> dict[str, float]:
    return {"recall@1": float(np.mean(r <= 1)), "recall@5": float(np.mean(r <= 5)),
            "mrr@10": float(np.mean(np.where(r <= 10, 1.0 / r, 0.0)))}


def best_weights(pools: Sequence[Pool], grid: Sequence[Mapping[str, float]] = GRID) -> dict[str, float]:
    """The grid's weights that rank best (recall@1 + recall@5 + mrr@10; the first of equals)."""
    return dict(max(grid, key=lambda w: sum(figures(ranks(pools, w)).values())))


def fit_fusion(pools: Sequence[Pool], *, splits: int = 3, seed: int = SEED,
               grid: Sequence[Mapping[str, float]] = GRID) -> FusionFit:
    tuned, equal, chosen = [], [], []
    for fit_on, held in split_items(pools, lambda p: p.article, splits=splits, seed=seed):
        weights = best_weights(fit_on, grid)
        chosen.append(weights)
        tuned.append(ranks(held, weights))
        equal.append(ranks(held, dict.fromkeys(FUSION_SIGNALS, 1.0)))
    weights = best_weights(pools, grid)
    return FusionFit(weights=weights, held_out=figures(np.concatenate(tuned)),
                     held_out_equal_weights=figures(np.concatenate(equal)), in_sample=figures(ranks(pools, weights)),
                     per_split=chosen)
