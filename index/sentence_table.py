"""Every sentence's offsets and vector, held in memory and kept up to date with the store.

Retrieval scores the best sentence of each of ~100 pooled chunks per question, and the answerer
reads the top passages' sentences. From SQLite that is one query of a few hundred rows (2–3 ms,
serialized across the server's threads by the store's lock); from this table it is a few dict
lookups. Loaded on first use, then changed chunk by chunk with the vectors (:mod:`index.live`):
about 1.5 kB per sentence, so indexes of the ``flat`` kind (up to a few hundred thousand chunks)
hold it, and ``ivf-sq8`` ones read the store.
"""
from __future__ import annotations

import numpy as np

from index.store import Store

__all__ = ["SentenceTable", "SentenceVectors"]

# For each chunk id: its sentences' document offsets, and their vectors (one row each).
SentenceVectors = dict[int, tuple[list[tuple[int, int]], np.ndarray]]


class SentenceTable:
    def __init__(self, rows: SentenceVectors | None = None) -> None:
        self._rows: SentenceVectors = dict(rows or {})

    @classmethod
    def load(cls, store: Store, dimension: int) -> SentenceTable:
        chunk_ids, offsets, vectors = store.all_sentences(dimension)
        table = cls()
        # Rows come sorted by chunk id; a chunk's rows are contiguous, in sentence order.
        firsts, starts = np.unique(chunk_ids, return_index=True)
        ends = np.append(starts[1:], len(chunk_ids))
        pairs = offsets.tolist()
        for chunk_id, a, b in zip(firsts.tolist(), starts.tolist(), ends.tolist(), strict=True):
            table._rows[chunk_id] = ([tuple(pair) for pair in pairs[a:b]], vectors[a:b])
        return table

    def __len__(self) -> int:
        return sum(len(offsets) for offsets, _ in self._rows.values())

    def add(self, rows: SentenceVectors) -> None:
        """Add (or replace) chunks' sentences."""
        self._rows.update(rows)

    def drop(self, chunk_ids: np.ndarray) -> None:
        for chunk_id in np.asarray(chunk_ids).tolist():
            self._rows.pop(chunk_id, None)

    def get(self, chunk_ids: list[int]) -> SentenceVectors:
        return {int(c): self._rows[int(c)] for c in chunk_ids if int(c) in self._rows}
