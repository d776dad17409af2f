"""The vectors a process searches, kept up to date with the store by reading only what changed.

FAISS lives in memory. It starts from the newest saved copy (``vectors-<seq>.faiss``, the index
as of write number ``seq``), or from every vector in the store when there is none, and then
applies the chunks added and removed by the writes after ``seq`` (:meth:`Store.changes_since`).
A search first asks the store for its write number (one indexed read) and catches up if it moved,
so every process sees every commit, whoever wrote it.

Saved copies are only a shortcut for opening: the store stays the truth. A crash while one is
written leaves the previous copy (files are written under a temporary name and renamed), and a
crash between a store commit and anything here loses nothing, because nothing here is needed to
rebuild it.
"""
from __future__ import annotations

import logging
import os
import re
import threading
from pathlib import Path

import numpy as np

from index.manifest import fsync_dir
from index.sentence_table import SentenceTable, SentenceVectors
from index.store import Store
from index.vectors import VectorIndex, create_vector_index, load_vector_index

__all__ = ["LiveVectors", "saved_copies"]

logger = logging.getLogger(__name__)

_SAVED = re.compile(r"^vectors-(\d{12})\.faiss$")
_MIN_DEAD = 1_000
_DEAD_SHARE = 0.01


def saved_copies(root: Path) -> list[tuple[int, Path]]:
    """The saved vector files in ``root``, newest first, with the write number each reflects."""
    found = [(int(m.group(1)), path) for path in root.iterdir() if (m := _SAVED.match(path.name))]
    return sorted(found, reverse=True)


class LiveVectors:
    """Chunk vectors (FAISS) and, for ``flat`` indexes, sentence vectors, as of a write number.

    Removing vectors from a flat FAISS index moves every vector after them (O(index)), so removed
    chunks are first only marked dead and left out of results; they are taken out for real once
    they are 1% of the index (at least 1,000), and before a copy is saved.
    """

    def __init__(self, root: Path, store: Store, kind: str, dimension: int) -> None:
        self._root = root
        self._store = store
        self._kind = kind
        self._dimension = dimension
        self._lock = threading.Lock()
        self.seq = -1  # nothing loaded yet
        self._vectors: VectorIndex = create_vector_index(kind, dimension)
        self._dead: set[int] = set()  # removed chunks still in _vectors
        self.unreadable: list[tuple[Path, str]] = []  # saved copies that failed to load, and why
        self._sentences: SentenceTable | None = None  # flat indexes: loaded on first use

    # ---- keeping up ----

    def refresh(self) -> None:
        """Catch up with the store's last committed write, if it moved."""
        if self.seq >= 0 and self._store.seq() == self.seq:
            return
        with self._lock:
            self._catch_up()

    def _catch_up(self) -> None:
        if self.seq < 0:
            self._load()
        changes = self._store.changes_since(self.seq, self._dimension)
        while not changes.complete:  # we fell behind a pruning of removals: start again from a saved copy
            self._load()
            changes = self._store.changes_since(self.seq, self._dimension)
        if changes.seq == self.seq:
            return
        # Chunk ids are never reused, and a copy holds exactly the writes up to its number: what
        # is added here is not in the index yet.
        self._dead.update(changes.deleted_ids.tolist())
        self._vectors.add(changes.added_ids, changes.added_vectors)
        if len(self._dead) > max(_MIN_DEAD, _DEAD_SHARE * len(self._vectors)):
            self._compact()
        if self._sentences is not None:
            self._sentences.drop(changes.deleted_ids)
            self._sentences.add(self._store.sentences(changes.added_ids.tolist(), self._dimension))
        self.seq = changes.seq

    def _compact(self) -> None:
        if self._dead:
            self._vectors.delete(np.fromiter(self._dead, dtype=np.int64, count=len(self._dead)))
            self._dead.clear()

    def _load(self) -> None:
        """Start from the newest readable saved copy, else from every vector in the store."""
        self._sentences = None
        self._dead = set()
        newest, pruned = self._store.seq(), self._store.pruned_through()
        for seq, path in saved_copies(self._root):
            if not pruned <= seq <= newest:
                continue  # too old to catch up from (its removals are forgotten), or from the future
            try:
                self._vectors = load_vector_index(self._kind, path)
                self.seq = seq
                return
            except (OSError, RuntimeError, ValueError) as exc:
                logger.warning("cannot read %s (%s); trying an older copy or the store", path, exc)
                self.unreadable.append((path, str(exc)))
        self._vectors = create_vector_index(self._kind, self._dimension)
        self.seq = -1
        changes = self._store.changes_since(-1, self._dimension)
        self._vectors.add(changes.added_ids, changes.added_vectors)
        self.seq = changes.seq

    def save(self) -> int:
        """Write a copy of the vectors as of now and delete older copies; returns its write number."""
        with self._lock:
            self._catch_up()
            self._compact()
            seq = self.seq
            final = self._root / f"vectors-{seq:012d}.faiss"
            tmp = self._root / f".{final.name}.{os.getpid()}.tmp"
            self._vectors.save(tmp)
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            os.replace(tmp, final)
            fsync_dir(self._root)
        for older, path in saved_copies(self._root):
            if older < seq:
                path.unlink(missing_ok=True)
        return seq

    # ---- reading ----

    def search(self, query_vector: np.ndarray, k: int, allowed: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """The top ``k`` (scores, chunk ids), among ``allowed`` chunk ids when given (only those are scored)."""
        with self._lock:
            dead = np.fromiter(self._dead, dtype=np.int64, count=len(self._dead))
            if allowed is not None:
                allowed = np.setdiff1d(allowed, dead, assume_unique=True) if len(dead) else allowed
                scores, ids = self._vectors.search(query_vector, k, allowed)
            else:
                scores, ids = self._vectors.search(query_vector, k + len(dead))
            keep = ids[0] >= 0
            if len(dead) and allowed is None:
                keep &= ~np.isin(ids[0], dead)
            scores, ids = scores[0][keep][:k], ids[0][keep][:k]
        if allowed is not None and len(ids) < min(k, len(allowed)):
            # An approximate index visits only some cells: few allowed vectors may lie in them. Score
            # the allowed ones exactly instead (few, or the cells would have held enough of them).
            return self._exact(query_vector, k, allowed)
        return scores, ids

    def _exact(self, query_vector: np.ndarray, k: int, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ids, vectors = self._store.vectors_of(allowed.tolist(), self._dimension)
        scores = vectors @ np.asarray(query_vector, dtype=np.float32).ravel()
        order = np.argsort(-scores, kind="stable")[:k]
        return scores[order], ids[order]

    def ids(self) -> np.ndarray:
        with self._lock:
            ids = self._vectors.ids()
            return ids[~np.isin(ids, np.fromiter(self._dead, dtype=np.int64, count=len(self._dead)))]

    def sentences(self, chunk_ids: list[int]) -> SentenceVectors:
        """For each chunk id: its sentences' document offsets and their vectors."""
        if self._kind != "flat":  # large collections: not all in memory
            return self._store.sentences(chunk_ids, self._dimension)
        with self._lock:
            if self._sentences is None:
                self._sentences = SentenceTable.load(self._store, self._dimension)
            return self._sentences.get(chunk_ids)

