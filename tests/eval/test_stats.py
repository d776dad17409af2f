"""The paired significance tests, on cases small enough to enumerate by hand."""
from __future__ import annotations

import math

import pytest

from eval.stats import EXACT_UP_TO, paired_bootstrap_ci, paired_randomization_test


def test_identical_runs_are_not_different():
    assert paired_randomization_test([1, 0, 1], [1, 0, 1]) == 1.0


def test_exact_p_value_three_pairs():
    # differences +1 +1 +1: of the 8 sign patterns, 2 (all + / all -) reach |sum| 3 → p = 2/8
    assert paired_randomization_test([1, 1, 1, 0], [0, 0, 0, 0]) == pytest.approx(0.25)


def test_exact_p_value_mixed_signs():
    # differences +1 +1 -1: |sum| = 1; patterns reaching |sum| >= 1: all 8 (sums are ±1 or ±3) → p = 1
    assert paired_randomization_test([1, 1, 0], [0, 0, 1]) == 1.0
    # differences +2 +1: sums ±3 (2 patterns) and ±1 (2 patterns); observed 3 → p = 2/4
    assert paired_randomization_test([2, 1], [0, 0]) == pytest.approx(0.5)


def test_sampled_test_agrees_with_the_exact_one():
    # 20 differing pairs (past the exact path): 14 × +1 and 6 × -1, observed sum 8. The sum of 20
    # random signs is 2·(number of +) − 20, so |sum| >= 8 when 14+ or 6− signs are +:
    # p = 2 · Σ_{j=14..20} C(20, j) / 2^20 = 0.1153
    exact = 2 * sum(math.comb(20, j) for j in range(14, 21)) / 2 ** 20
    a, b = [1] * 14 + [0] * 6, [0] * 14 + [1] * 6
    assert 20 > EXACT_UP_TO
    assert paired_randomization_test(a, b, rounds=40_000) == pytest.approx(exact, abs=0.01)


def test_a_consistent_improvement_is_significant():
    a, b = [1.0] * 40, [0.0] * 40
    assert paired_randomization_test(a, b) == pytest.approx(1 / 10_001)


def test_bootstrap_ci():
    assert paired_bootstrap_ci([0.5] * 10, [0.0] * 10) == (0.5, 0.5)
    low, high = paired_bootstrap_ci([1, 0] * 50, [0, 0] * 50)  # mean difference 0.5
    assert low < 0.5 < high
    assert 0.35 < low and high < 0.65


def test_unpaired_input_is_refused():
    with pytest.raises(ValueError):
        paired_randomization_test([1, 2], [1])
