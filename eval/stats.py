"""Paired significance for "did this change help?": a sign-flip randomization test and a bootstrap CI.

Both compare two runs question by question (the same questions, two systems), which is far more
sensitive than comparing two means: most questions get the same score from both.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["paired_randomization_test", "paired_bootstrap_ci", "EXACT_UP_TO"]

# Up to this many non-zero differences, all 2**n sign patterns are enumerated (65,536 at most).
EXACT_UP_TO = 16
_BATCH = 500


def _differences(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("paired scores must be two sequences of the same length")
    return x - y


def paired_randomization_test(a: Sequence[float], b: Sequence[float], *, rounds: int = 10_000,
                              seed: int = 0) -> float:
    """Two-sided p-value for "``a`` and ``b`` have the same mean", by randomly swapping pairs.

    Under the null hypothesis each pair's difference is as likely to have either sign, so the
    observed mean difference is compared with the mean differences under sign flips. Exact (every
    sign pattern) when at most :data:`EXACT_UP_TO` pairs differ; otherwise ``rounds`` random
    patterns, with the usual add-one correction so that p is never 0.
    """
    d = _differences(a, b)
    d = d[d != 0]  # pairs that agree add zero under every sign pattern
    if len(d) == 0:
        return 1.0
    observed = abs(d.sum())
    tolerance = 1e-9 * max(1.0, observed)
    if len(d) <= EXACT_UP_TO:
        patterns = ((np.arange(2 ** len(d))[:, None] >> np.arange(len(d))) & 1) * 2 - 1
        return float(np.mean(np.abs(patterns @ d) >= observed - tolerance))
    rng = np.random.default_rng(seed)
    hits, done = 0, 0
    while done < rounds:
        batch = min(_BATCH, rounds - done)
        signs = rng.integers(0, 2, size=(batch, len(d)), dtype=np.int8) * 2 - 1
        hits += int(np.sum(np.abs(signs @ d) >= observed - tolerance))
        done += batch
    return (hits + 1) / (rounds + 1)


def paired_bootstrap_ci(a: Sequence[float], b: Sequence[float], *, rounds: int = 2_000, confidence: float = 0.95,
                        seed: int = 0) -> tuple[float, float]:
    """A percentile bootstrap confidence interval for ``mean(a) - mean(b)``, resampling questions."""
    d = _differences(a, b)
    if len(d) == 0:
        raise ValueError("no paired scores")
    rng = np.random.default_rng(seed)
    means = []
    for start in range(0, rounds, _BATCH):
        picks = rng.integers(0, len(d), size=(min(_BATCH, rounds - start), len(d)))
        means.append(d[picks].mean(axis=1))
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(np.concatenate(means), [tail, 100 - tail])
    return float(low), float(high)
