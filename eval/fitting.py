"""What every fitting command shares: splitting articles into held-out halves, and the provenance a
fitted file carries (the command, the commit, the data with its sha256, the embedder, the seed and
the feature names), so each fitted file says how to make it again.

Used by ``scripts/fit_fusion_weights.py``, ``scripts/fit_sentence_ranker.py`` and
``scripts/fit_no_answer.py``; fitting the shipped models is on articles the public split does not hold.
"""
from __future__ import annotations

import hashlib
import os
import random
import sys
from collections.abc import Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any

from eval.report import git_commit

__all__ = ["article_halves", "provenance"]

_REPO = Path(__file__).resolve().parents[1]


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


def provenance(data: Sequence[str | os.PathLike[str]], *, embedder: dict[str, Any] | None = None,
               seed: int | None = None, features: Sequence[str] | None = None,
               command: Sequence[str] | None = None, **extra: Any) -> dict[str, Any]:
    """The ``about`` of a fitted file: how it was made, and from what."""
    commit, dirty = git_commit(_REPO)
    found: dict[str, Any] = {"command": list(command if command is not None else sys.argv), "commit": commit,
                             "dirty": dirty, "data": [{"path": str(p), "sha256": hashlib.sha256(Path(p).read_bytes()).hexdigest()} for p in data]}
    if embedder is not None:
        found["embedder"] = dict(embedder)
    if seed is not None:
        found["seed"] = seed
    if features is not None:
        found["features"] = list(features)
    return {**found, **extra}
