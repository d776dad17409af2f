"""When an ``auto`` index's vectors move from exact search to an approximate index, and the check at the move.

A collection starts exact (``flat``): every vector scored, nothing missed. Past :data:`SWITCH_AT`
vectors a flat search costs more than a quarter of a whole answer at 10k chunks (measured with
``scripts/measure_vector_switch.py``, one search thread, 384-d: 5.2 ms at 50k, 12.5 ms at 100k,
24.8 ms at 200k, 47.6 ms at 400k; the IVF-SQ8 index passing the check: 0.2–1.8 ms), so
the process holding the vectors builds an IVF-SQ8 index (:class:`index.vectors.IvfSq8Index`) over
them in the background and swaps it in (:class:`index.live.LiveVectors`), but only if its recall@10
against exact search, on a sample of the collection's own vectors asked as questions, is at least
:data:`RECALL_GOAL`; it raises ``nprobe`` until it is, and stays exact when no ``nprobe`` gets there.
An IVF index is rebuilt the same way once the collection has grown four times past the size it was
trained at (its cells were sized for that).
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np

from index.vectors import FaissIndex, IvfSq8Index, VectorIndex

__all__ = ["SWITCH_AT", "RECALL_GOAL", "Approximate", "needs_rebuild", "build_approximate", "recall_at_10"]

logger = logging.getLogger(__name__)

SWITCH_AT = 100_000  # vectors; see the module docstring
RECALL_GOAL = 0.97
_SAMPLE = 200  # held vectors asked as questions for the recall check
_K = 10


def needs_rebuild(index: VectorIndex) -> bool:
    """Is it time to build an approximate index over these vectors (see the module docstring)?"""
    if isinstance(index, FaissIndex):
        return len(index) >= SWITCH_AT
    if isinstance(index, IvfSq8Index) and index.trained and index.nlist:
        trained_for = (index.nlist / 2) ** 2  # cells were 2·√n, rounded to a power of two
        return len(index) >= 4 * max(trained_for, SWITCH_AT)
    return False


@dataclass(frozen=True, slots=True)
class Approximate:
    """An approximate index built over a collection, with what the check at the switch measured."""

    index: IvfSq8Index
    vectors: int
    recall_at_10: float
    nprobe: int
    seconds: float

    def describe(self) -> dict[str, float | int | str]:
        return {"kind": "ivf-sq8", "vectors": self.vectors, "cells": int(self.index.nlist or 0), "nprobe": self.nprobe,
                "recall@10 at the switch": round(self.recall_at_10, 4), "build_s": round(self.seconds, 1)}


def _exact_top(queries: np.ndarray, ids: np.ndarray, vectors: np.ndarray, k: int, block: int = 100_000) -> np.ndarray:
    """The ids of each query's ``k`` best vectors by inner product, scoring every one (in blocks)."""
    best_scores = np.zeros((len(queries), 0), dtype=np.float32)
    best_ids = np.zeros((len(queries), 0), dtype=np.int64)
    for start in range(0, len(ids), block):
        block_ids = ids[start:start + block]
        scores = np.concatenate([best_scores, queries @ vectors[start:start + block].T], axis=1)
        pool = np.concatenate([best_ids, np.broadcast_to(block_ids, (len(queries), len(block_ids)))], axis=1)
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        best_scores, best_ids = np.take_along_axis(scores, top, 1), np.take_along_axis(pool, top, 1)
    return best_ids


def recall_at_10(index: VectorIndex, ids: np.ndarray, vectors: np.ndarray, *, seed: int = 0) -> float:
    """recall@10 of ``index`` against exact search over (``ids``, ``vectors``), asking a seeded sample of
    the vectors themselves (each one's own id left out of both lists)."""
    if len(ids) <= _K:
        return 1.0
    pick = np.random.default_rng(seed).choice(len(ids), min(_SAMPLE, len(ids)), replace=False)
    queries = np.ascontiguousarray(vectors[pick])
    exact = _exact_top(queries, ids, vectors, _K + 1)
    _, found = index.search(queries, _K + 1)
    hits = 0
    for own, want, got in zip(ids[pick], exact, found, strict=True):
        want = [i for i in want.tolist() if i != own][:_K]
        got = [i for i in got.tolist() if i != own][:_K]
        hits += len(set(want) & set(got))
    return hits / (_K * len(pick))


def build_approximate(ids: np.ndarray, vectors: np.ndarray) -> Approximate | None:
    """An IVF-SQ8 index over the vectors at the smallest ``nprobe`` reaching :data:`RECALL_GOAL`, or None."""
    started = time.perf_counter()
    index = IvfSq8Index(vectors.shape[1], train_at=1)
    index.add(ids, vectors)
    nprobe = int(index.nprobe or 16)
    while True:
        index.nprobe = nprobe
        recall = recall_at_10(index, ids, vectors)
        logger.info("approximate index over %d vectors: recall@10 %.4f at nprobe %d", len(ids), recall, nprobe)
        if recall >= RECALL_GOAL:
            return Approximate(index, len(ids), recall, nprobe, time.perf_counter() - started)
        if nprobe >= (index.nlist or 0) / 4:
            return None  # scanning a quarter of the cells and still short: exact search stays
        nprobe = min(2 * nprobe, int(math.ceil((index.nlist or 1) / 4)))
