"""Metrics as pure functions: answer overlap (official SQuAD), ranked retrieval, abstention.

Answer metrics follow the SQuAD v2.0 evaluation script: answers are normalized (lower case, no
punctuation, no articles, single spaces) and a prediction is scored against each gold answer,
keeping the best. An empty prediction stands for "no answer".

Retrieval metrics take a ranked list of ids (best first) and the set of relevant ids, and agree
with trec_eval (``R@k``, ``RR@k``, ``nDCG@k`` with binary relevance); see ``tests/eval``.
"""
from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Callable, Collection, Hashable, Iterable, Sequence
from typing import TypeVar

import numpy as np

__all__ = [
    "normalize_answer",
    "answer_tokens",
    "exact_match",
    "f1_score",
    "max_over_golds",
    "contains_answer",
    "distinct",
    "first_relevant_rank",
    "recall_at_k",
    "reciprocal_rank",
    "ndcg_at_k",
    "no_answer_scores",
    "mean",
    "percentile",
]

T = TypeVar("T", bound=Hashable)

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


# ---- answers ----

def normalize_answer(text: str) -> str:
    """The official SQuAD normalization: lower case, drop punctuation and articles, squeeze spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def answer_tokens(text: str) -> list[str]:
    return normalize_answer(text).split() if text else []


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_score(prediction: str, gold: str) -> float:
    """Token-overlap F1 after normalization; two empty answers agree (1.0)."""
    pred, ref = answer_tokens(prediction), answer_tokens(gold)
    if not pred or not ref:
        return float(pred == ref)
    same = sum((Counter(pred) & Counter(ref)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def max_over_golds(metric: Callable[[str, str], float], prediction: str, golds: Iterable[str]) -> float:
    """The best score of ``prediction`` against any gold answer.

    As in the SQuAD v2.0 script, gold answers that normalize to nothing are dropped, and a question
    with no gold answer left has the single gold answer ``""`` (so only abstaining scores 1).
    """
    kept = [g for g in golds if normalize_answer(g)] or [""]
    return max(metric(prediction, g) for g in kept)


def contains_answer(prediction: str, golds: Iterable[str]) -> float:
    """1.0 if the normalized prediction contains a normalized gold answer as whole words."""
    haystack = f" {normalize_answer(prediction)} "
    return float(any(f" {g} " in haystack for g in map(normalize_answer, golds) if g))


# ---- ranked retrieval ----

def distinct(ids: Iterable[T]) -> list[T]:
    """``ids`` without repeats, keeping first occurrences (chunks → their documents, best first)."""
    return list(dict.fromkeys(ids))


def _check(relevant: Collection[object], k: int) -> None:
    if not relevant:
        raise ValueError("retrieval metrics need at least one relevant id")
    if k < 1:
        raise ValueError("k must be at least 1")


def first_relevant_rank(ranked: Sequence[T], relevant: Collection[T]) -> int | None:
    """The 1-based rank of the first relevant id, or ``None`` if none was retrieved."""
    return next((rank for rank, i in enumerate(ranked, start=1) if i in relevant), None)


def recall_at_k(ranked: Sequence[T], relevant: Collection[T], k: int) -> float:
    """The share of the relevant ids found in the top ``k``."""
    _check(relevant, k)
    return len(set(ranked[:k]) & set(relevant)) / len(set(relevant))


def reciprocal_rank(ranked: Sequence[T], relevant: Collection[T], k: int) -> float:
    """``1 / rank`` of the first relevant id within the top ``k``, else 0."""
    _check(relevant, k)
    rank = first_relevant_rank(ranked[:k], relevant)
    return 0.0 if rank is None else 1.0 / rank


def ndcg_at_k(ranked: Sequence[T], relevant: Collection[T], k: int) -> float:
    """Normalized discounted cumulative gain with binary relevance and ``log2(rank + 1)`` discounts."""
    _check(relevant, k)
    relevant = set(relevant)
    dcg = sum(1.0 / math.log2(rank + 1) for rank, i in enumerate(ranked[:k], start=1) if i in relevant)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(relevant), k) + 1))
    return dcg / ideal


# ---- abstention ----

def no_answer_scores(abstained: Sequence[bool], answerable: Sequence[bool]) -> dict[str, float | None]:
    """Precision, recall and F1 of abstaining, with unanswerable questions as the positive class.

    ``None`` where a ratio has nothing to divide by (no abstentions, no unanswerable questions).
    """
    if len(abstained) != len(answerable):
        raise ValueError("abstained and answerable must have the same length")
    tp = sum(a and not g for a, g in zip(abstained, answerable, strict=True))
    predicted = sum(abstained)
    actual = sum(not g for g in answerable)
    precision = tp / predicted if predicted else None
    recall = tp / actual if actual else None
    if precision is None or recall is None:
        f1 = None
    else:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


# ---- aggregates ----

def mean(values: Iterable[float]) -> float | None:
    """The arithmetic mean, or ``None`` for no values (a metric that does not apply)."""
    values = list(values)
    return sum(values) / len(values) if values else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0–100, linear interpolation), or ``None`` for no values."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else None
