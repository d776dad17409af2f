"""Every sentence's offsets and vector, held in memory for the questions of one generation.

Retrieval scores the best sentence of each of ~100 pooled chunks per question, and the answerer
reads the top passages' sentences. From SQLite that is one query of a few hundred rows (2–3 ms,
serialized across the server's threads by the store's lock); from these arrays it is a few
slices. Loaded on first use, once per generation: about 1.5 kB per sentence, so indexes of the
``flat`` kind (up to a few hundred thousand chunks) hold it, and ``ivf-sq8`` ones read the store.
"""
from __future__ import annotations

import numpy as np

from index.store import Store

__all__ = ["SentenceTable", "SentenceVectors"]

# For each chunk id: its sentences' document offsets, and their vectors (one row each).
SentenceVectors = dict[int, tuple[list[tuple[int, int]], np.ndarray]]


class SentenceTable:
    def __init__(self, chunk_ids: np.ndarray, offsets: np.ndarray, vectors: np.ndarray) -> None:
        # Rows are sorted by chunk id; a chunk's rows are contiguous, in sentence order.
        firsts, starts = np.unique(chunk_ids, return_index=True)
        ends = np.append(starts[1:], len(chunk_ids))
        self._rows = {int(c): (int(a), int(b)) for c, a, b in zip(firsts, starts, ends, strict=True)}
        self._offsets = offsets
        self._vectors = vectors

    @classmethod
    def load(cls, store: Store, dimension: int) -> SentenceTable:
        chunk_ids, offsets, vectors = store.all_sentences(dimension)
        return cls(chunk_ids, offsets, vectors)

    def __len__(self) -> int:
        return len(self._vectors)

    def get(self, chunk_ids: list[int]) -> SentenceVectors:
        found: SentenceVectors = {}
        for chunk_id in chunk_ids:
            rows = self._rows.get(int(chunk_id))
            if rows is not None:
                a, b = rows
                found[int(chunk_id)] = ([tuple(pair) for pair in self._offsets[a:b].tolist()], self._vectors[a:b])
        return found
