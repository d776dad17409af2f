"""Held-out halves of articles: every fit is scored on articles it was not fitted on."""
from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar

__all__ = ["article_halves", "split_items"]

T = TypeVar("T")


def article_halves(articles: Iterable[Hashable], *, splits: int = 1,
                   seed: int | None = None) -> list[tuple[set, set]]:
    """``(fit on, score on)`` pairs: each split halves the articles, and both ways round are returned.

    With no ``seed``, one split: the first half of the sorted articles against the second. With a seed,
    ``splits`` random halvings drawn in turn from one ``random.Random(seed)``.
    """
    ordered = sorted(set(articles))
    if len(ordered) < 2:
        raise ValueError("halving needs at least two articles")
    if seed is None and splits != 1:
        raise ValueError("several splits need a seed")
    rng = random.Random(seed) if seed is not None else None
    pairs = []
    for _ in range(splits):
        shuffled = ordered[:]
        if rng is not None:
            rng.shuffle(shuffled)
        first, second = set(shuffled[: len(shuffled) // 2]), set(shuffled[len(shuffled) // 2:])
        pairs += [(first, second), (second, first)]
    return pairs


def split_items(items: Sequence[T], article_of: Callable[[T], Hashable], *, splits: int = 1,
                seed: int | None = None) -> list[tuple[list[T], list[T]]]:
    """``items`` divided by :func:`article_halves` of their articles: ``(fit on, score on)`` lists."""
    return [([i for i in items if article_of(i) in fit_on], [i for i in items if article_of(i) in score_on])
            for fit_on, score_on in article_halves((article_of(i) for i in items), splits=splits, seed=seed)]
