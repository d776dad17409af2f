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
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from index.manifest import fsync_dir
from index.sentence_table import SentenceTable, SentenceVectors
from index.store import Store
from index.vector_switch import RECALL_GOAL, Approximate, build_approximate, needs_rebuild, recall_at_10
from index.vectors import FaissIndex, IvfSq8Index, VectorIndex, create_vector_index, load_vector_index

__all__ = ["LiveVectors", "saved_copies", "write_copy"]

logger = logging.getLogger(__name__)

_SAVED = re.compile(r"^vectors-(\d{12})\.faiss$")
_SAVED_LEXICAL = re.compile(r"^lexical-(\d{12})\.npz$")
_MIN_DEAD = 1_000
_DEAD_SHARE = 0.01


def saved_copies(root: Path, *, lexical: bool = False) -> list[tuple[int, Path]]:
    """The saved vector files (or lexical index files) in ``root``, newest first, with the write number each reflects."""
    pattern = _SAVED_LEXICAL if lexical else _SAVED
    found = [(int(m.group(1)), path) for path in root.iterdir() if (m := pattern.match(path.name))]
    return sorted(found, reverse=True)


def write_copy(root: Path, name: str, write: Callable[[Path], None]) -> Path:
    """Write ``root/name`` durably by way of a temporary file renamed into place; returns its path."""
    final = root / name
    tmp = root / f".{name}.{os.getpid()}.tmp"
    write(tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, final)
    fsync_dir(root)
    return final


class LiveVectors:
    """Chunk vectors (FAISS) and, for ``flat`` indexes, sentence vectors, as of a write number.

    Removing vectors from a flat FAISS index moves every vector after them (O(index)), so removed
    chunks are first only marked dead and left out of results; they are taken out for real once
    they are 1% of the index (at least 1,000), and before a copy is saved.

    Kind ``auto``: exact until the collection is large, then approximate, built in a background thread
    and swapped in under the lock once it passes its recall check (:mod:`index.vector_switch`).
    """

    def __init__(self, root: Path, store: Store, kind: str, dimension: int, *, may_switch: bool = True) -> None:
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
        self._may_switch = may_switch  # False: a short-lived reader (a check) that never builds one
        self._switching = False  # an approximate index is being built in the background
        self._retry_at = 0  # auto: a failed switch is tried again past this many vectors
        self.switched: Approximate | None = None  # auto: what the last switch in this process measured

    # ---- keeping up ----

    def refresh(self, seq: int | None = None) -> None:
        """Catch up with the store's last committed write (``seq``, when the caller has just read it), if it moved."""
        if self.seq >= 0 and (self._store.seq() if seq is None else seq) == self.seq:
            return
        with self._lock:
            self._catch_up()
            self._maybe_switch()

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

    # ---- auto: exact, then approximate ----

    def _maybe_switch(self) -> None:
        if (self._kind != "auto" or not self._may_switch or self._switching or len(self._vectors) < self._retry_at
                or not needs_rebuild(self._vectors)):
            return
        self._switching = True
        threading.Thread(target=self._switch, name="vector-switch", daemon=True).start()

    def _switch(self) -> None:
        """Build an approximate index from the store's vectors and swap it in (a background thread)."""
        try:
            reader = Store(self._store.path, readonly=True)  # its own connection: answers keep theirs meanwhile
            try:
                everything = reader.changes_since(-1, self._dimension)  # every stored vector, as of one write
            finally:
                reader.close()
            built_seq, count = everything.seq, len(everything.added_ids)
            built = build_approximate(everything.added_ids, everything.added_vectors)
            del everything
            if built is None:
                self._retry_at = 2 * count
                logger.warning("an approximate index over %d vectors missed recall@10 %.2f at every nprobe tried: "
                               "search stays exact (tried again at %d)", count, RECALL_GOAL, self._retry_at)
                return
            with self._lock:  # the built index holds the store as of its read: bring it to the store's now
                changes = self._store.changes_since(built_seq, self._dimension)
                if not changes.complete:
                    return  # removals since then are forgotten: tried again at the next catch-up
                built.index.delete(changes.deleted_ids)
                built.index.add(changes.added_ids, changes.added_vectors)
                self._vectors, self._dead, self._sentences = built.index, set(), None
                self.seq = changes.seq
                self.switched = built
            logger.info("vectors: now %s", built.describe())
        except Exception:  # noqa: BLE001 - a failed switch leaves exact search serving; never kill the thread silently
            self._retry_at = 2 * len(self._vectors)
            logger.exception("building an approximate index failed: search stays exact")
        finally:
            self._switching = False

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
            write_copy(self._root, f"vectors-{seq:012d}.faiss", self._vectors.save)
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

    def settle(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for a background switch to finish; True when none is running."""
        deadline = time.monotonic() + timeout_s
        while self._switching and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self._switching

    def describe(self, *, measure_recall: bool = False) -> dict[str, Any]:
        """The vector index searched now: its kind and size; an approximate one's cells and nprobe, and with
        ``measure_recall`` its recall@10 against exact search over the store's vectors (reads them all)."""
        with self._lock:
            vectors = self._vectors
            if not isinstance(vectors, IvfSq8Index) or not vectors.trained:
                return {"kind": "flat", "exact": True, "vectors": len(vectors) - len(self._dead), "setting": self._kind}
            found: dict[str, Any] = {"kind": "ivf-sq8", "exact": False, "vectors": len(vectors), "setting": self._kind,
                                     "cells": int(vectors.nlist or 0), "nprobe": int(vectors.nprobe or 0)}
            if measure_recall:
                everything = self._store.changes_since(-1, self._dimension)
                found["recall@10"] = round(recall_at_10(vectors, everything.added_ids, everything.added_vectors), 4)
        return found

    def ids(self) -> np.ndarray:
        with self._lock:
            ids = self._vectors.ids()
            return ids[~np.isin(ids, np.fromiter(self._dead, dtype=np.int64, count=len(self._dead)))]

    def sentences(self, chunk_ids: list[int]) -> SentenceVectors:
        """For each chunk id: its sentences' document offsets and their vectors."""
        large = not isinstance(self._vectors, FaissIndex) or (self._kind == "auto" and needs_rebuild(self._vectors))
        if large:  # large collections (or about to be approximate): not all in memory
            return self._store.sentences(chunk_ids, self._dimension)
        with self._lock:
            if self._sentences is None:
                self._sentences = SentenceTable.load(self._store, self._dimension)
            return self._sentences.get(chunk_ids)

