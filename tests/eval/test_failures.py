"""Error analysis: every failing row gets one class, and span boundaries are told apart."""
from __future__ import annotations

from eval.failures import (FAILURE_CLASSES, answer_kind, boundary, boundary_table, classify_failure, failure_table,
                           is_failure, sample_failures)


def row(**kw) -> dict:
    base = {"answerable": True, "abstained": False, "gold_answers": ["Southwest University of Political Science"],
            "gold_docs": ["p1"], "top_answer_doc": "p1", "exact_match": 0.0, "top_answer": "Southwest",
            "top_answer_sentence": "The forum was held at Southwest University of Political Science in Chongqing."}
    return {**base, **kw}


def test_boundaries() -> None:
    assert boundary("Southwest", "Southwest University") == "inside"
    assert boundary("the Southwest University!", "Southwest University") == "exact"
    assert boundary("May 13 in Shanghai", "May 13") == "overshoot"
    assert boundary("Nov. 5", "May 13 to Nov. 10") == "overlap"
    assert boundary("Chongqing", "Shanghai") == "disjoint"


def test_each_failure_gets_its_class() -> None:
    assert classify_failure(row()) == "boundary"
    assert classify_failure(row(abstained=True, top_answer=None)) == "abstained"
    assert classify_failure(row(answerable=False, gold_answers=[])) == "answered unanswerable"
    assert classify_failure(row(top_answer_doc="p2")) == "wrong passage"
    assert classify_failure(row(top_answer_sentence="Chongqing hosts it.", top_answer="Chongqing")) == "wrong sentence"
    assert classify_failure(row(top_answer="Chongqing")) == "other span"


def test_only_failures_are_sampled_and_counted() -> None:
    rows = [row(), row(exact_match=1.0, top_answer="Southwest University of Political Science"),
            row(answerable=False, gold_answers=[], abstained=True), row(top_answer_doc="p9")]
    assert [is_failure(r) for r in rows] == [True, False, False, True]
    sampled = sample_failures(rows, n=10, seed=1)
    assert len(sampled) == 2
    table = failure_table(sampled)
    assert list(table) == list(FAILURE_CLASSES) and table["boundary"] == 1 and table["wrong passage"] == 1


def test_boundary_table_by_answer_kind() -> None:
    rows = [row(), row(gold_answers=["Nov. 5-10, 2024"], top_answer="Nov. 5-10, 2024"),
            row(gold_answers=["a red flag"], top_answer="flag"), row(abstained=True)]
    assert answer_kind("Nov. 5-10, 2024") == "number/date" and answer_kind("Southwest University of Law") == "name"
    assert answer_kind("Hou Yue") == "name" and answer_kind("two") == answer_kind("the cat") == "other"
    assert boundary_table(rows) == {"name": {"inside": 1}, "number/date": {"exact": 1}, "other": {"inside": 1}}
