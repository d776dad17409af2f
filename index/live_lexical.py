"""The lexical index a process searches, kept up to date with the store by reading only what changed.

Like the vectors (:mod:`index.live`): it starts from the newest saved copy (``lexical-<seq>.npz``,
the index as of write ``seq``), or is built from every chunk in the store when there is none, and
then applies the chunks added and removed by the writes after ``seq``. A search first asks the
store for its write number and catches up if it moved. Saved copies are only a shortcut for
opening: the store stays the truth.
"""
from __future__ import annotations

import logging
import threading
import zipfile
from pathlib import Path

import numpy as np

from index.lexical_index import LexicalIndex, query_terms
from index.live import saved_copies, write_copy
from index.store import Store

__all__ = ["LiveLexical"]

logger = logging.getLogger(__name__)

_BUILD_BATCH = 50_000  # chunks read from the store at a time when building from scratch
_MIN_DEAD = 1_000
_DEAD_SHARE = 0.01


class LiveLexical:
    """BM25 over the store's chunks as of a write number (see the module docstring)."""

    def __init__(self, root: Path, store: Store, *, k1: float = 1.2, b: float = 0.75) -> None:
        self._root = root
        self._store = store
        self._k1, self._b = k1, b
        self._lock = threading.Lock()
        self.seq = -1  # nothing loaded yet
        self._index = LexicalIndex(k1, b)
        self.unreadable: list[tuple[Path, str]] = []  # saved copies that failed to load, and why

    def refresh(self, seq: int | None = None) -> None:
        """Catch up with the store's last committed write (``seq``, when the caller has just read it), if it moved."""
        if self.seq >= 0 and (self._store.seq() if seq is None else seq) == self.seq:
            return
        with self._lock:
            self._catch_up()

    def _catch_up(self) -> None:
        if self.seq < 0:
            self._load()
        changes = self._store.lexical_changes_since(self.seq)
        while not changes.complete:  # we fell behind a pruning of removals: start again from a saved copy
            self._load()
            changes = self._store.lexical_changes_since(self.seq)
        if changes.seq == self.seq:
            return
        self._index.remove(changes.deleted_ids)
        self._index.add(changes.added_ids, changes.bodies)
        if self._index.removed > max(_MIN_DEAD, _DEAD_SHARE * len(self._index)):
            self._index.compact()
        self.seq = changes.seq

    def _load(self) -> None:
        """Start from the newest readable saved copy, else from every chunk in the store."""
        newest, pruned = self._store.seq(), self._store.pruned_through()
        for seq, path in saved_copies(self._root, lexical=True):
            if not pruned <= seq <= newest:
                continue  # too old to catch up from (its removals are forgotten), or from the future
            try:
                self._index = LexicalIndex.load(path)
                self.seq = seq
                return
            except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
                logger.warning("cannot read %s (%s); trying an older copy or the store", path, exc)
                self.unreadable.append((path, str(exc)))
        self._build(newest)

    def _build(self, through_seq: int) -> None:
        """Index every chunk added by writes up to ``through_seq``, a batch at a time."""
        self._index = LexicalIndex(self._k1, self._b)
        after = 0
        while True:
            ids, bodies = self._store.chunk_bodies(after=after, through_seq=through_seq, limit=_BUILD_BATCH)
            if not len(ids):
                break
            self._index.add(ids, bodies)
            after = int(ids[-1])
        self._index.compact()
        self.seq = through_seq

    def save(self) -> int:
        """Write a copy of the index as of now and delete older copies; returns its write number."""
        with self._lock:
            self._catch_up()
            seq = self.seq
            write_copy(self._root, f"lexical-{seq:012d}.npz", self._index.save)
        for older, path in saved_copies(self._root, lexical=True):
            if older < seq:
                path.unlink(missing_ok=True)
        return seq

    def search(self, question: str, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The top ``k`` (BM25 scores, chunk ids) for the question, best first; among ``allowed`` chunk ids when given."""
        terms = query_terms(question)
        if not terms or k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        with self._lock:
            return self._index.search(terms, k, allowed)

    def ids(self) -> np.ndarray:
        with self._lock:
            return self._index.chunk_ids()
