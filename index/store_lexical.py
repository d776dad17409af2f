"""The store's part in lexical search: the chunks' text (title, newline, text) as BM25 reads it, all of it
or what writes changed after a given number (:mod:`index.live_lexical` keeps its index up to date with it)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["StoreLexical", "LexicalChanges"]

_BODY = "d.title || char(10) || c.text"  # what lexical search reads of a chunk


@dataclass(frozen=True, slots=True)
class LexicalChanges:
    """The chunks (with their lexical text) added and removed by the writes after a given number, as of ``seq``."""

    seq: int
    added_ids: np.ndarray
    bodies: list[str]
    deleted_ids: np.ndarray
    complete: bool


class StoreLexical:
    """Reads for lexical search, mixed into :class:`index.store.Store` (which provides the connection,
    ``_query``, ``_reading`` and ``_meta``)."""

    def lexical_changes_since(self, seq: int) -> LexicalChanges:
        """The chunks added (with their lexical text: title, newline, text) and removed after write ``seq``."""
        with self._reading():
            now = self._meta("seq")
            complete = self._meta("pruned_through") <= seq
            added = self._query(f"SELECT c.chunk_id, {_BODY} FROM chunks c INDEXED BY chunks_by_seq "
                                "JOIN documents d ON d.doc_id = c.doc_id WHERE c.seq > ? ORDER BY c.chunk_id", (seq,))
            deleted = self._query("SELECT chunk_id FROM deleted_chunks WHERE seq > ?", (seq,))
        return LexicalChanges(now, np.array([r[0] for r in added], dtype=np.int64), [r[1] for r in added],
                              np.array([r[0] for r in deleted], dtype=np.int64), complete)

    def chunk_bodies(self, *, after: int, through_seq: int, limit: int) -> tuple[np.ndarray, list[str]]:
        """Up to ``limit`` chunks by id after ``after``, added by writes up to ``through_seq``, with their lexical text."""
        rows = self._query(f"SELECT c.chunk_id, {_BODY} FROM chunks c JOIN documents d ON d.doc_id = c.doc_id "
                           "WHERE c.chunk_id > ? AND c.seq <= ? ORDER BY c.chunk_id LIMIT ?", (after, through_seq, limit))
        return np.array([r[0] for r in rows], dtype=np.int64), [r[1] for r in rows]
