"""A reader's answer weighting and no-answer model (``<reader>/no_answer.json``), fitted on questions
the reader never trained on, with real unanswerable ones among them. In order:

1. ``ranker_weight``: how much the sentence ranker's log-odds add to the reader's margin when
   ordering answers, by the top answer's F1 on answerable questions (a small grid).
2. The open-domain no-answer model: a logistic model of "answerable" over the signals of the best
   answer (:data:`rag.NO_ANSWER_SIGNALS`); its threshold is the highest that costs at most
   ``max_drop`` points of has-answer F1.
3. The reading threshold (``Pipeline.read``, ``rag eval --gold-passage``): the reader's margin below
   which it says "no answer", maximizing SQuAD 2.0 F1 over the questions asked of their own paragraph.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np

from eval.datasets import QAExample
from eval.fitting.recording import recording
from eval.metrics import exact_match, f1_score, max_over_golds
from rag import NO_ANSWER_SIGNALS, NoAnswerModel, Pipeline

__all__ = ["GRID", "collect_guesses", "fit_ranker_weight", "fit_no_answer", "no_ans_acc_within", "collect_reading",
           "reading_figures", "fit_reading_threshold"]

GRID = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0)  # ranker weights
NEVER = -1e9  # a threshold nothing falls below


def collect_guesses(pipeline: Pipeline, examples: Iterable[QAExample], *, max_answers: int = 10,
                    progress: bool = False) -> list[dict]:
    """Every question asked once, with every answer the reader proposed (its evidence and F1) and the
    signals that do not depend on which answer is chosen."""
    from tqdm import tqdm

    def keep(answerer, question, vector, chunks, sentences, fused_scores):
        found, guesses, signals = answerer.guesses(question, vector, chunks, sentences, fused_scores=fused_scores)
        rows = [{"margin": g.margin, "span": g.span, "ranker": g.ranker,
                 "sentence": float(found.similarity[g.sentence]) if g.sentence is not None else 0.0,
                 "text": g.text} for g in guesses]
        return rows, ({k: signals[k] for k in ("ranker_top", "fused", "fused_gap")} if signals else {})

    answerer = pipeline.answerer
    before = answerer.max_answers, answerer.ranker_weight
    # how many spans the reader proposes per window; and no weight of the ranker, so what is collected
    # (a range two windows both propose is kept once) does not depend on the no_answer.json being refitted
    answerer.max_answers, answerer.ranker_weight = max_answers, 0.0
    items = []
    try:
        with recording(pipeline, keep) as recorder:
            for e in tqdm(examples, desc="open-domain", disable=not progress, mininterval=2):
                pipeline.ask(e.question)
                rows, fixed = recorder.last
                for row in rows:
                    row["f1"] = max_over_golds(f1_score, row["text"], e.answers) if e.answers else 0.0
                items.append({"answers": list(e.answers), "rows": rows, "fixed": fixed})
    finally:
        answerer.max_answers, answerer.ranker_weight = before
    return items


def best_row(item: dict, weight: float) -> dict | None:
    if not item["rows"]:
        return None
    return max(item["rows"], key=lambda r: r["margin"] + weight * r["ranker"])


def signals_of(item: dict, weight: float) -> dict[str, float] | None:
    row = best_row(item, weight)
    if row is None:
        return None
    return {"margin": row["margin"], "span": row["span"], "ranker": row["ranker"], "sentence": row["sentence"],
            **item["fixed"]}


def fit_ranker_weight(items: Sequence[dict], grid: Sequence[float] = GRID) -> tuple[float, dict[float, float]]:
    """The weight whose top answers have the best F1 on answerable questions (the smaller of equals),
    and the F1 of each."""
    answerable = [i for i in items if i["answers"]]
    f1 = {w: float(np.mean([(best_row(i, w) or {"f1": 0.0})["f1"] for i in answerable])) for w in grid}
    return max(f1, key=lambda w: (f1[w], -w)), f1


def fit_no_answer(items: Sequence[dict], weight: float, max_drop: float) -> tuple[NoAnswerModel, list[dict]]:
    """The logistic no-answer model with the highest threshold costing at most ``max_drop`` points of
    has-answer F1, and its precision/recall curve (about 40 points)."""
    from sklearn.linear_model import LogisticRegression

    usable = [(i, s) for i in items if (s := signals_of(i, weight)) is not None]
    X = np.array([[s[n] for n in NO_ANSWER_SIGNALS] for _, s in usable])
    y = np.array([bool(i["answers"]) for i, _ in usable])
    if len(set(y.tolist())) < 2:
        raise ValueError("fitting a no-answer model needs answerable and unanswerable questions")
    lr = LogisticRegression(C=1.0, max_iter=5000).fit(X, y)
    weights = dict(zip(NO_ANSWER_SIGNALS, lr.coef_[0].round(5).tolist(), strict=True))
    bias = round(float(lr.intercept_[0]), 5)
    model = NoAnswerModel(weights, bias, 0.0)
    conf = np.array([model.confidence(s) for _, s in usable])
    f1 = np.array([best_row(i, weight)["f1"] if i["answers"] else 0.0 for i, _ in usable])
    n_has = int(y.sum())
    never = 100.0 * f1[y].sum() / n_has
    curve, best = [], 0.0
    for t in np.unique(np.round(conf, 4)):
        keep = conf >= t
        has_f1 = 100.0 * (f1 * keep)[y].sum() / n_has
        abstained = ~keep
        curve.append({"threshold": float(t), "has_ans_f1": round(float(has_f1), 2),
                      "no_ans_acc": round(float(abstained[~y].mean()), 4),
                      "precision": round(float((~y & abstained).sum() / max(1, abstained.sum())), 4)})
        if never - has_f1 <= max_drop:
            best = float(t)
    step = max(1, len(curve) // 40)
    return NoAnswerModel(weights, bias, best), [c for n, c in enumerate(curve) if n % step == 0]


def no_ans_acc_within(confidence: np.ndarray, answerable: np.ndarray, f1: np.ndarray,
                      drop: float) -> tuple[float, float]:
    """The most unanswerable questions abstained on (a share) by a confidence threshold that keeps
    has-answer F1 at most ``drop`` points (0-100) below never abstaining, and that F1."""
    never = 100.0 * f1[answerable].mean()
    best = (0.0, never)
    for t in np.unique(confidence):
        keep = confidence >= t
        has_f1 = 100.0 * (f1 * keep)[answerable].mean()
        if never - has_f1 <= drop:
            best = max(best, (float((~keep)[~answerable].mean()), float(has_f1)))
    return best


def collect_reading(pipeline: Pipeline, examples: Iterable[QAExample], *, progress: bool = False) -> list[dict]:
    """Every question asked of its own paragraph (``Pipeline.read``) with no abstention: its margin and
    the top answer's F1 and exact match."""
    from tqdm import tqdm

    answerer = pipeline.answerer
    before = answerer.no_answer
    answerer.no_answer = replace(before, reading_threshold=NEVER)
    items = []
    try:
        for e in tqdm(examples, desc="gold passage", disable=not progress, mininterval=2):
            result = pipeline.read(e.question, e.gold_doc_ids[0])
            top = result.answers[0].text if result.answers else ""
            items.append({"answerable": bool(e.answers), "margin": result.signals.get("margin", NEVER),
                          "f1": max_over_golds(f1_score, top, e.answers) if e.answers else 0.0,
                          "em": max_over_golds(exact_match, top, e.answers) if e.answers else 0.0})
    finally:
        answerer.no_answer = before
    return items


def reading_figures(items: Sequence[dict], threshold: float) -> dict[str, float | int | None]:
    """The SQuAD 2.0 script's figures (0-100) of the gold-passage answers at ``threshold``."""
    has = [i for i in items if i["answerable"]]
    no = [i for i in items if not i["answerable"]]

    def answered(i: dict) -> bool:
        return i["margin"] >= threshold

    has_em = [i["em"] * answered(i) for i in has]
    has_f1 = [i["f1"] * answered(i) for i in has]
    no_ok = [float(not answered(i)) for i in no]
    return {"exact": round(100 * (sum(has_em) + sum(no_ok)) / len(items), 2),
            "f1": round(100 * (sum(has_f1) + sum(no_ok)) / len(items), 2), "total": len(items),
            "HasAns_exact": round(100 * float(np.mean(has_em)), 2), "HasAns_f1": round(100 * float(np.mean(has_f1)), 2),
            "HasAns_total": len(has), "NoAns_exact": round(100 * float(np.mean(no_ok)), 2) if no else None,
            "NoAns_total": len(no)}


def fit_reading_threshold(items: Sequence[dict]) -> tuple[float, float]:
    """The margin threshold with the best SQuAD 2.0 F1 (the first of equals), and that F1 (0-100)."""
    margins = np.array([i["margin"] for i in items])
    y = np.array([i["answerable"] for i in items])
    f1 = np.array([i["f1"] for i in items])
    best_t, best = 0.0, -1.0
    for t in np.unique(np.round(margins, 3)):
        answer = margins >= t
        score = float(np.where(y, f1 * answer, ~answer).mean())
        if score > best:
            best_t, best = float(t), score
    return best_t, 100.0 * best
