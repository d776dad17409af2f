"""The no-answer fit: the ranker weight, the logistic abstention model and its threshold, the reading
threshold, and collecting the reader's guesses through a pipeline."""
from __future__ import annotations

import numpy as np
import pytest

from eval import load_dataset
from eval.fitting.no_answer import (collect_guesses, collect_reading, fit_no_answer, fit_ranker_weight,
                                    fit_reading_threshold, reading_figures)
from rag import NO_ANSWER_SIGNALS
from rag.answer import Answerer
from tests.rag.test_answer import FakeReader

FIXED = {"ranker_top": 0.5, "fused": 1.0, "fused_gap": 0.2}


def _item(answerable: bool, rows: list[tuple[float, float, float]]) -> dict:
    """``rows``: (margin, ranker, f1) of each proposed answer."""
    return {"answers": ["x"] if answerable else [], "fixed": FIXED,
            "rows": [{"margin": m, "span": m + 1, "ranker": r, "sentence": 0.5, "f1": f} for m, r, f in rows]}


def test_the_ranker_weight_is_the_one_whose_top_answers_score_best():
    # the right answer has the smaller margin but the better sentence
    items = [_item(True, [(2.0, -1.0, 0.0), (1.5, 1.0, 1.0)]) for _ in range(3)] + [_item(False, [])]
    weight, by_weight = fit_ranker_weight(items, grid=(0.0, 0.5, 1.0))
    assert by_weight == {0.0: 0.0, 0.5: 1.0, 1.0: 1.0} and weight == 0.5  # the smaller of equals


def _separable(n: int = 60) -> list[dict]:
    rng = np.random.default_rng(2)
    return ([_item(True, [(float(rng.normal(4, 1)), 0.0, 1.0)]) for _ in range(n)]
            + [_item(False, [(float(rng.normal(0, 1)), 0.0, 0.0)]) for _ in range(n)])


def test_the_abstention_threshold_is_the_highest_within_the_allowed_loss():
    items = _separable()
    model, curve = fit_no_answer(items, 0.0, max_drop=2.5)
    assert set(model.weights) == set(NO_ANSWER_SIGNALS) and model.weights["margin"] > 0
    kept = [p for p in curve if p["threshold"] <= model.threshold]
    assert kept and all(p["has_ans_f1"] >= 100 - 2.5 for p in kept)
    assert curve[-1]["has_ans_f1"] < 100 - 2.5 or model.threshold == curve[-1]["threshold"]
    assert next(p for p in curve if p["threshold"] == max(q["threshold"] for q in kept))["no_ans_acc"] > 0.8
    with pytest.raises(ValueError, match="unanswerable"):
        fit_no_answer([i for i in items if i["answers"]], 0.0, max_drop=2.5)


def test_the_reading_threshold_maximizes_squad2_f1():
    items = ([{"answerable": True, "margin": m, "f1": 1.0, "em": 1.0} for m in (3.0, 4.0, 5.0)]
             + [{"answerable": False, "margin": m, "f1": 0.0, "em": 0.0} for m in (0.5, 1.0, 3.5, 3.6)])
    threshold, f1 = fit_reading_threshold(items)
    assert threshold == 4.0 and f1 == pytest.approx(100 * 6 / 7)  # loses the 3.0 answer, abstains on all four
    figures = reading_figures(items, threshold)
    assert figures["HasAns_f1"] == pytest.approx(66.67) and figures["NoAns_exact"] == 100.0
    assert figures["f1"] == pytest.approx(85.71) and figures["total"] == 7
    assert reading_figures(items, -1e9)["NoAns_exact"] == 0.0


def test_guesses_and_readings_are_collected_through_the_pipeline(pipeline, squad_file, tmp_path):
    dataset = load_dataset(squad_file)
    pipeline.ingest_documents(list(dataset.documents))
    pipeline.answerer = Answerer(reader=FakeReader({"the Near East": 4.0, "The Amazon": 3.0, "cats": 1.0}, tmp_path))
    before = pipeline.answerer.no_answer
    pipeline.answerer.ranker_weight = 3.0
    items = collect_guesses(pipeline, dataset.examples)
    assert len(items) == len(dataset.examples) and pipeline.answerer.max_answers == 3
    assert pipeline.answerer.ranker_weight == 3.0  # restored; and what was collected does not depend on it:
    pipeline.answerer.ranker_weight = -3.0
    assert collect_guesses(pipeline, dataset.examples) == items
    by_question = dict(zip([e.question for e in dataset.examples], items, strict=True))
    near_east = by_question["Where was the domestic cat first domesticated?"]
    assert near_east["rows"][0]["f1"] == 1.0 and set(near_east["fixed"]) == {"ranker_top", "fused", "fused_gap"}
    reading = collect_reading(pipeline, dataset.examples)
    assert pipeline.answerer.no_answer is before
    assert [r["answerable"] for r in reading] == [e.answerable for e in dataset.examples]
    amazon = reading[[e.question for e in dataset.examples].index("Which river carries more water than any other river?")]
    assert amazon["f1"] == 1.0 and amazon["margin"] == 3.0
