"""The store's vector reads: the chunks' vectors (all, or some by id) and the sentences' offsets and
vectors, as the in-memory vector indexes (:mod:`index.live`) and the answerer read them."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

__all__ = ["StoreVectors", "unpack_vectors"]


class StoreVectors:
    """Vector reads, mixed into :class:`index.store.Store` (which provides the connection and ``_query``)."""

    def vectors(self, dimension: int) -> tuple[np.ndarray, np.ndarray]:
        """Every (chunk ids, vectors), in chunk id order."""
        rows = self._query("SELECT chunk_id, vector FROM chunks ORDER BY chunk_id")
        return unpack_vectors(rows, dimension)

    def vectors_of(self, chunk_ids: list[int], dimension: int) -> tuple[np.ndarray, np.ndarray]:
        """The (chunk ids, vectors) of those of ``chunk_ids`` that are stored."""
        rows: list[tuple] = []
        for i in range(0, len(chunk_ids), 500):
            batch = chunk_ids[i : i + 500]
            rows += self._query(f"SELECT chunk_id, vector FROM chunks WHERE chunk_id IN ({','.join('?' * len(batch))})",
                                batch)
        return unpack_vectors(rows, dimension)

    def all_sentences(self, dimension: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every sentence as (chunk ids, (start, end) document offsets, vectors), by chunk then sentence."""
        rows = self._query("SELECT chunk_id, char_start, char_end, vector FROM sentences ORDER BY chunk_id, sentence_id")
        chunk_ids = np.array([r[0] for r in rows], dtype=np.int64)
        offsets = np.array([(r[1], r[2]) for r in rows], dtype=np.int64).reshape(len(rows), 2)
        vectors = np.frombuffer(b"".join(r[3] for r in rows), dtype=np.float32).reshape(len(rows), dimension)
        return chunk_ids, offsets, vectors

    def sentences(self, chunk_ids: Iterable[int], dimension: int) -> dict[int, tuple[list[tuple[int, int]], np.ndarray]]:
        """For each chunk id: its sentences' document offsets and their vectors."""
        wanted = [int(i) for i in chunk_ids]
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        rows = self._query(f"SELECT chunk_id, char_start, char_end, vector FROM sentences WHERE chunk_id IN ({marks}) "
                           "ORDER BY chunk_id, sentence_id", wanted)
        grouped: dict[int, list[tuple]] = {}
        for row in rows:
            grouped.setdefault(row[0], []).append(row)
        return {
            chunk_id: ([(r[1], r[2]) for r in group],
                       np.frombuffer(b"".join(r[3] for r in group), dtype=np.float32).reshape(len(group), dimension))
            for chunk_id, group in grouped.items()
        }


def unpack_vectors(rows: list[tuple], dimension: int) -> tuple[np.ndarray, np.ndarray]:
    """(ids, float32 vectors) of ``(id, vector blob)`` rows."""
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), dimension)
    return ids, vectors

