"""Error analysis over a run's ``questions.jsonl``: what kind of failure each wrong answer is.

A question *fails* when it is answerable and its top answer is not an exact match of a gold answer
(after SQuAD normalization), or unanswerable and answered. Each failure gets one class, in this
order of blame:

``abstained``            answerable, and the service said "no answer"
``answered unanswerable``  unanswerable, and it answered
``wrong passage``        the answer is cited from a document that is not the question's gold one
``wrong sentence``       the right document, but the cited sentence holds no gold answer
``boundary``             the right sentence, and the answer overlaps a gold answer without matching it
``other span``           the right sentence, and an answer that shares nothing with any gold one

:func:`boundary` says how a span and a gold answer sit against each other, for measuring how often
the reader stops inside a longer answer (``inside``) or runs past it (``overshoot``).
"""
from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Literal

from eval.metrics import answer_tokens, normalize_answer

__all__ = ["FAILURE_CLASSES", "BOUNDARIES", "is_failure", "classify_failure", "sample_failures", "failure_table", "boundary",
           "best_boundary", "answer_kind", "boundary_table", "failure_report"]

FAILURE_CLASSES: tuple[str, ...] = ("abstained", "answered unanswerable", "wrong passage", "wrong sentence",
                                    "boundary", "other span")
Boundary = Literal["exact", "inside", "overshoot", "overlap", "disjoint"]
BOUNDARIES: tuple[Boundary, ...] = ("exact", "inside", "overshoot", "overlap", "disjoint")  # best first


def _contains(longer: list[str], shorter: list[str]) -> bool:
    n = len(shorter)
    return n > 0 and any(longer[i:i + n] == shorter for i in range(len(longer) - n + 1))


def boundary(prediction: str, gold: str) -> Boundary:
    """How ``prediction`` sits against ``gold``, word by word after SQuAD normalization."""
    p, g = answer_tokens(prediction), answer_tokens(gold)
    if p == g:
        return "exact"
    if _contains(g, p):
        return "inside"
    if _contains(p, g):
        return "overshoot"
    return "overlap" if set(p) & set(g) else "disjoint"


def _closest(prediction: str, golds: Sequence[str]) -> tuple[str, Boundary]:
    """The gold answer ``prediction`` sits best against, and how (exact before inside/overshoot before overlap)."""
    return min(((g, boundary(prediction, g)) for g in golds), key=lambda pair: BOUNDARIES.index(pair[1]))


def best_boundary(prediction: str, golds: Sequence[str]) -> Boundary:
    """The best of :func:`boundary` over the gold answers."""
    return _closest(prediction, golds)[1]


def answer_kind(gold: str) -> str:
    """A coarse kind of gold answer: ``number/date`` (holds a digit), ``name`` (capitalized words, short
    lower-case joiners such as "of" allowed), or ``other``."""
    if any(c.isdigit() for c in gold):
        return "number/date"
    words = [w for w in gold.split() if w[:1].isalpha()]
    if any(w[0].isupper() for w in words) and all(w[0].isupper() or (w.islower() and len(w) <= 3) for w in words):
        return "name"
    return "other"


def is_failure(row: dict) -> bool:
    if not row["answerable"]:
        return not row["abstained"]
    return row["abstained"] or not row["exact_match"]


def classify_failure(row: dict) -> str:
    """One of :data:`FAILURE_CLASSES` for a failing ``questions.jsonl`` row."""
    if row["answerable"] and row["abstained"]:
        return "abstained"
    if not row["answerable"]:
        return "answered unanswerable"
    if row["gold_docs"] and row["top_answer_doc"] not in row["gold_docs"]:
        return "wrong passage"
    sentence = normalize_answer(row.get("top_answer_sentence") or "")
    if not any(_contains(sentence.split(), answer_tokens(g)) for g in row["gold_answers"]):
        return "wrong sentence"
    return "other span" if best_boundary(row["top_answer"], row["gold_answers"]) == "disjoint" else "boundary"


def sample_failures(rows: Iterable[dict], *, n: int = 100, seed: int = 0) -> list[dict]:
    """``n`` failing rows drawn at random (seeded), each with its ``class`` added."""
    failing = [row for row in rows if is_failure(row)]
    picked = random.Random(seed).sample(failing, min(n, len(failing)))
    return [{**row, "class": classify_failure(row)} for row in picked]


def failure_table(rows: Iterable[dict]) -> dict[str, int]:
    """How many rows fall in each failure class, every class listed."""
    counts = Counter(row["class"] for row in rows)
    return {name: counts.get(name, 0) for name in FAILURE_CLASSES}


def boundary_table(rows: Iterable[dict]) -> dict[str, dict[str, int]]:
    """For answered answerable rows: ``{answer kind: {boundary: count}}``, the kind of the gold answer
    the prediction sits best against."""
    table: dict[str, Counter] = {}
    for row in rows:
        if not row["answerable"] or row["abstained"] or not row["top_answer"]:
            continue
        gold, relation = _closest(row["top_answer"], row["gold_answers"])
        table.setdefault(answer_kind(gold), Counter())[relation] += 1
    return {kind: dict(counts) for kind, counts in sorted(table.items())}


def failure_report(questions: Iterable[dict], *, n: int = 100, seed: int = 0) -> dict:
    """What :func:`failure_table` and :func:`boundary_table` say of a run's ``questions.jsonl`` rows:
    ``{"questions", "failures", "sampled", "classes", "boundaries", "examples"}``."""
    rows = list(questions)
    sampled = sample_failures(rows, n=n, seed=seed)
    return {"questions": len(rows), "failures": sum(is_failure(r) for r in rows), "sampled": len(sampled),
            "classes": failure_table(sampled), "boundaries": boundary_table(rows),
            "examples": [{k: r.get(k) for k in ("id", "question", "gold_answers", "top_answer", "class")}
                         for r in sampled]}
