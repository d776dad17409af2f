"""Every metric against cases worked out by hand."""
from __future__ import annotations

import math

import pytest

from eval.metrics import (
    contains_answer,
    distinct,
    exact_match,
    f1_score,
    first_relevant_rank,
    max_over_golds,
    mean,
    ndcg_at_k,
    no_answer_scores,
    normalize_answer,
    percentile,
    recall_at_k,
    reciprocal_rank,
)


def test_normalization_is_squads():
    # lower case, punctuation out, articles out, whitespace squeezed
    assert normalize_answer("The  Quick, Brown fox!") == "quick brown fox"
    assert normalize_answer("an apple a day") == "apple day"
    assert normalize_answer("theatre") == "theatre"  # "the" only as a whole word


def test_exact_match_after_normalization():
    assert exact_match("The Amazon", "amazon") == 1.0
    assert exact_match("Amazon river", "amazon") == 0.0


def test_f1_token_overlap():
    # pred: cat sat on mat (4) · gold: cat on mat (3) · common 3 → P 3/4, R 1 → F1 6/7
    assert f1_score("the cat sat on the mat", "a cat on a mat") == pytest.approx(6 / 7)
    assert f1_score("dog", "cat") == 0.0
    # repeated tokens are matched once per occurrence: common {x: 1, y: 1} → P 2/3, R 2/3
    assert f1_score("x x y", "x y y") == pytest.approx(2 / 3)


def test_empty_answers_agree_only_with_empty():
    assert f1_score("", "") == 1.0
    assert f1_score("", "Near East") == 0.0
    assert f1_score("Near East", "") == 0.0


def test_max_over_golds_takes_the_best_gold():
    golds = ["Near East", "the Near East region"]
    # pred [in, near, east] vs [near, east]: P 2/3 R 1 → 0.8; vs [near, east, region]: P 2/3 R 2/3 → 2/3
    assert max_over_golds(f1_score, "in the Near East", golds) == pytest.approx(0.8)
    assert max_over_golds(exact_match, "near east", golds) == 1.0


def test_unanswerable_has_the_empty_gold():
    # as in the SQuAD v2.0 script: no gold answers → the gold answer is "", so only abstaining scores
    assert max_over_golds(f1_score, "", []) == 1.0
    assert max_over_golds(f1_score, "something", []) == 0.0
    assert max_over_golds(exact_match, "", ["", " . "]) == 1.0  # golds that normalize to nothing are dropped


def test_contains_answer_on_whole_words():
    assert contains_answer("It flows north into the Mediterranean Sea.", ["Mediterranean sea"]) == 1.0
    assert contains_answer("It happened in 1973.", ["1"]) == 0.0
    assert contains_answer("It happened in 1973.", ["7500", "1973"]) == 1.0
    assert contains_answer("anything", []) == 0.0
    assert contains_answer("", ["x"]) == 0.0


def test_distinct_keeps_first_occurrences():
    assert distinct(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]


def test_ranks_and_recall():
    ranked = ["d3", "d1", "d2"]
    assert first_relevant_rank(ranked, {"d1"}) == 2
    assert first_relevant_rank(ranked, {"x"}) is None
    assert recall_at_k(ranked, {"d1"}, 1) == 0.0
    assert recall_at_k(ranked, {"d1"}, 2) == 1.0
    assert recall_at_k(ranked, {"d1", "d2"}, 2) == 0.5
    assert recall_at_k(ranked, {"d1", "d2"}, 3) == 1.0
    assert recall_at_k(ranked, {"d1", "d2", "d9"}, 10) == pytest.approx(2 / 3)


def test_reciprocal_rank_within_cutoff():
    assert reciprocal_rank(["d3", "d1", "d2"], {"d1"}, 10) == 0.5
    assert reciprocal_rank(["d3", "d1", "d2"], {"d2", "d1"}, 10) == 0.5  # the first relevant one counts
    assert reciprocal_rank(["d3", "d1"], {"d1"}, 1) == 0.0
    assert reciprocal_rank([], {"d1"}, 10) == 0.0


def test_ndcg_binary():
    assert ndcg_at_k(["d1", "d2"], {"d1"}, 10) == 1.0
    assert ndcg_at_k(["d3", "d1", "d2"], {"d1"}, 10) == pytest.approx(1 / math.log2(3))  # 0.6309
    # two relevant at ranks 2 and 3: (1/log2 3 + 1/log2 4) / (1 + 1/log2 3) = 0.6934
    assert ndcg_at_k(["d3", "d1", "d2"], {"d1", "d2"}, 10) == pytest.approx(0.69343, abs=1e-5)
    assert ndcg_at_k(["d3", "d1"], {"d1"}, 1) == 0.0


def test_retrieval_metrics_need_a_relevant_id():
    with pytest.raises(ValueError):
        recall_at_k(["a"], set(), 5)
    with pytest.raises(ValueError):
        ndcg_at_k(["a"], {"a"}, 0)


def test_no_answer_scores_abstention_is_positive_on_unanswerable():
    abstained = [True, True, False, False, True]
    answerable = [False, True, False, True, False]
    # TP: 0 and 4 → 2; abstained 3 times; 3 unanswerable → P 2/3, R 2/3, F1 2/3
    scores = no_answer_scores(abstained, answerable)
    assert scores["precision"] == pytest.approx(2 / 3)
    assert scores["recall"] == pytest.approx(2 / 3)
    assert scores["f1"] == pytest.approx(2 / 3)


def test_no_answer_scores_undefined_ratios_are_none():
    assert no_answer_scores([False, False], [True, False]) == {"precision": None, "recall": 0.0, "f1": None}
    assert no_answer_scores([True], [True]) == {"precision": 0.0, "recall": None, "f1": None}
    assert no_answer_scores([True, False], [False, True])["f1"] == 1.0


def test_mean_and_percentile():
    assert mean([1, 2, 3, 4]) == 2.5
    assert mean([]) is None
    assert percentile([10, 20, 30, 40], 50) == 25.0
    assert percentile([10, 20, 30, 40], 95) == pytest.approx(38.5)  # 30 + 0.85 * 10
    assert percentile([], 50) is None
