"""The local index: one directory, written in proportion to the change.

::

    INDEX_DIR/
      manifest.json              what the index is built with (model, dimension, chunking, …)
      store.sqlite (-wal, -shm)  documents, chunks, sentences and vectors: the source of truth,
                                 and a write's commit point (index.store)
      vectors-<seq>.faiss        a saved copy of the chunk vectors as of write <seq> (index.live)
      lexical-<seq>.npz          a saved copy of the lexical index as of write <seq> (index.live_lexical)
      .lock                      writers hold an exclusive flock on it

A write is one SQLite transaction (WAL): a crash leaves the state before it or after it, never a
mix, and readers (threads or other processes) keep answering from the last committed state while
it runs. Every process keeps its FAISS vectors in memory and brings them up to date from the
store's record of what changed, so a write costs what it changes, not what the index holds; the
lexical index (BM25) is kept in memory the same way. Every so often (after changes worth a quarter
of the index, at least 20,000 chunks) the writer saves a copy of both so that opening does not
replay a long history.

An index written by the previous format (``gen-NNNNNN/`` folders, each a full copy) is migrated on
first open: its current generation's store becomes ``store.sqlite``, and the old folders go.
"""
from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from domain.access import Scope
from domain.errors import IndexCorruptError, IndexMismatchError, IndexStoreError
from domain.types import Chunk, Document, DocumentInfo
from index.check import CheckReport, check_index
from index.live import LiveVectors, saved_copies
from index.live_lexical import LiveLexical
from index.manifest import MANIFEST, SCHEMA_VERSION, STORE_FILE, IndexSettings, Manifest, read_manifest, write_manifest
from index.migrate import migrate_generations
from index.sentence_table import SentenceVectors
from index.store import Store, StoredChunk
from index.store_feedback import StoreFeedback
from index.scoped_snapshot import ScopedSnapshot
from index.store_keys import StoreKeys

__all__ = ["IndexDirectory", "Snapshot", "ScopedSnapshot", "Writer", "CheckReport", "IndexSettings", "Manifest", "MANIFEST"]

logger = logging.getLogger(__name__)

_SAVE_AFTER_CHANGES = 20_000  # chunks added or removed since the last saved copy of the vectors …
_SAVE_AFTER_SHARE = 0.25  # … and at least this share of the index


class Snapshot:
    """Reads of the index as of its last committed write. Safe to share between threads.

    Chunk reads see the store's latest commit; dense and lexical search see the vectors and the
    lexical index as of the last :meth:`IndexDirectory.snapshot` call. A chunk found by a search and
    removed before it is read is simply not returned.
    """

    def __init__(self, settings: IndexSettings, store: Store, live: LiveVectors, lexical: LiveLexical) -> None:
        self.settings = settings
        self.store = store
        self._live = live
        self._lexical = lexical

    @property
    def generation(self) -> int:
        """The number of the last committed write these vectors reflect."""
        return self._live.seq

    def stats(self) -> dict[str, int]:
        seq, documents, chunks = self.store.counts()
        return {"documents": documents, "chunks": chunks, "generation": seq}

    def dense(self, query_vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self._live.search(query_vector, k)

    def lexical_search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self._lexical.search(query, k)

    def sentences(self, chunk_ids: list[int]) -> SentenceVectors:
        """For each chunk id: its sentences' document offsets and their vectors."""
        return self._live.sentences(chunk_ids)

    def vector_index(self, *, wait_s: float = 0.0) -> dict:
        """The vector index this process searches (kind, size; cells and nprobe when approximate), after
        waiting up to ``wait_s`` for a move to an approximate one that is under way."""
        self._live.settle(wait_s)
        return self._live.describe()

    def chunks(self, chunk_ids: list[int]) -> dict[int, StoredChunk]:
        return self.store.chunks(chunk_ids)

    def document(self, doc_id: str) -> Document | None:
        return self.store.document(doc_id)

    def document_chunks(self, doc_id: str) -> list[StoredChunk]:
        return self.store.document_chunks(doc_id)

    def documents(self, *, offset: int = 0, k: int | None = None) -> list[DocumentInfo]:
        return self.store.documents(offset=offset, k=k)


class IndexDirectory:
    """Opens, reads and writes one index directory (see the module docstring)."""

    def __init__(self, root: Path, settings: IndexSettings) -> None:
        self.root = root
        self.settings = settings
        self._write_lock = threading.Lock()
        self._open_lock = threading.Lock()
        self._snapshot: Snapshot | None = None

    # ---- opening ----

    @classmethod
    def open(cls, root: str | os.PathLike[str], settings: IndexSettings, *, create: bool = True) -> IndexDirectory:
        """Open the index at ``root``, creating an empty one if allowed (and migrating an old one).

        Raises:
            IndexMismatchError: the index was built with other settings.
            IndexStoreError: there is no index and ``create`` is false.
        """
        root = Path(root)
        directory = cls(root, settings)
        manifest = directory.read_manifest()
        if manifest is None:
            if not create:
                raise IndexStoreError(f"no index at {root} (run `rag --index {root} ingest PATH` to create one)")
            directory._create()
        else:
            directory.settings = directory._check_settings(manifest.settings)
            if manifest.schema_version < SCHEMA_VERSION:
                with directory._locked():
                    migrate_generations(root)
        return directory

    def _check_settings(self, stored: IndexSettings) -> IndexSettings:
        wanted = self.settings
        if (stored.model_name, stored.model_sha256, stored.dimension) != (
            wanted.model_name, wanted.model_sha256, wanted.dimension
        ):
            raise IndexMismatchError(
                f"the index at {self.root} was built with embedding model {stored.model_name!r} "
                f"(weights sha256 {stored.model_sha256[:12]}…, {stored.dimension}-d) but this pipeline uses "
                f"{wanted.model_name!r} (sha256 {wanted.model_sha256[:12]}…, {wanted.dimension}-d). "
                f"Use the same model, or rebuild: delete {self.root} (or pick another --index) and ingest again."
            )
        if stored.tokenizer != wanted.tokenizer:
            raise IndexMismatchError(
                f"the index at {self.root} counts tokens with {stored.tokenizer!r}, not {wanted.tokenizer!r}; "
                "rebuild it to change the tokenizer."
            )
        # Chunking and retrieval parameters are the index's own: they win over the defaults.
        return replace(wanted, chunking=stored.chunking, vector_index=stored.vector_index,
                       sentence_vectors=stored.sentence_vectors, bm25=stored.bm25)

    @staticmethod
    def stored_settings(root: str | os.PathLike[str]) -> IndexSettings | None:
        """What the index at ``root`` was built with, or None if there is no index there yet."""
        manifest = read_manifest(Path(root))
        return manifest.settings if manifest is not None else None

    def read_manifest(self) -> Manifest | None:
        return read_manifest(self.root)

    def _create(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with self._locked():
            if self.read_manifest() is not None:
                return
            Store(self.root / STORE_FILE, create=True).close()
            write_manifest(self.root, Manifest(SCHEMA_VERSION, self.settings, time.time()))

    # ---- reading ----

    def snapshot(self, scope: Scope | None = None) -> Snapshot | ScopedSnapshot:
        """The index as of its last committed write, by this process or any other, as ``scope`` sees it."""
        snapshot = self._opened()
        seq = snapshot.store.seq()  # one read of the write number for both
        snapshot._live.refresh(seq)
        snapshot._lexical.refresh(seq)
        if scope is None or scope.unrestricted:
            return snapshot
        # A scope admitting every group there is needs no filter in its searches (ScopedSnapshot).
        everything = not scope.where and scope.groups >= snapshot.store.present_groups()
        return ScopedSnapshot(snapshot, scope, search_all=everything)

    def keys(self) -> StoreKeys:
        """The index's API keys (stored in its store, shared by every process serving it)."""
        return StoreKeys(self._opened().store)

    def feedback(self) -> StoreFeedback:
        """People's feedback on answers, stored in the index's store."""
        return StoreFeedback(self._opened().store)

    def _opened(self) -> Snapshot:
        """This process's reader of the index (its vectors are loaded on first refresh)."""
        if self._snapshot is None:
            with self._open_lock:
                if self._snapshot is None:
                    if not (self.root / MANIFEST).is_file():
                        raise IndexStoreError(f"the index at {self.root} has disappeared")
                    try:
                        store = Store(self.root / STORE_FILE)
                    except Exception as exc:  # noqa: BLE001 - sqlite3 and OS errors alike: the store is unreadable
                        raise IndexCorruptError(f"cannot read the store of the index in {self.root}: {exc}") from exc
                    live = LiveVectors(self.root, store, self.settings.vector_index, self.settings.dimension)
                    lexical = LiveLexical(self.root, store, k1=self.settings.bm25["k1"], b=self.settings.bm25["b"])
                    self._snapshot = Snapshot(self.settings, store, live, lexical)
        return self._snapshot

    def close(self) -> None:
        """Close this process's reader of the index (the next ``snapshot()`` opens it again)."""
        with self._open_lock:
            if self._snapshot is not None:
                self._snapshot.store.close()
                self._snapshot = None

    # ---- writing ----

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._write_lock:
            self.root.mkdir(parents=True, exist_ok=True)
            with open(self.root / ".lock", "a+") as lock_file:
                fcntl.flock(lock_file, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(lock_file, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def writer(self) -> Iterator[Writer]:
        """Exclusive write access; the changes become visible only when ``Writer.commit`` returns."""
        with self._locked():
            for pattern in (".vectors-*.tmp", ".lexical-*.tmp"):  # a save cut short by a crash
                for leftover in self.root.glob(pattern):
                    leftover.unlink(missing_ok=True)
            writer = Writer(self)
            try:
                yield writer
            finally:
                writer._abort()

    def _after_commit(self) -> None:
        """Save a copy of the vectors and the lexical index when enough has changed since the last one
        (write lock held)."""
        copies = saved_copies(self.root) and saved_copies(self.root, lexical=True)
        reader = self._opened()
        _, _, chunks = reader.store.counts()
        changed = reader.store.changed_since_save() if copies else chunks
        if changed >= max(_SAVE_AFTER_CHANGES, _SAVE_AFTER_SHARE * chunks):
            reader.store.prune_deleted(through=min(reader._live.save(), reader._lexical.save()))

    # ---- checking ----

    def check(self) -> CheckReport:
        """Do the store's counts, its lexical index, the saved vectors and the chunks' text agree?

        Read afresh from disk (not from this process's vectors in memory); a part that cannot be
        read at all is reported as a problem rather than raised.
        """
        if self.read_manifest() is None:
            raise IndexStoreError(f"no index at {self.root}")
        return check_index(self.root, self.settings)

    def repair(self) -> CheckReport:
        """Rebuild the counts, the saved vectors and the saved lexical index from the documents and chunks."""
        with self._locked():
            if self.read_manifest() is None:
                raise IndexStoreError(f"no index at {self.root}")
            try:
                store = Store(self.root / STORE_FILE)
                store.rebuild_derived_tables()
            except Exception as exc:  # noqa: BLE001 - sqlite3 and OS errors alike
                raise IndexCorruptError(f"cannot repair the index in {self.root}: its store, the source of truth, "
                                        f"cannot be read ({exc}); rebuild it from the original files") from exc
            for _, path in saved_copies(self.root) + saved_copies(self.root, lexical=True):
                path.unlink(missing_ok=True)
            live = LiveVectors(self.root, store, self.settings.vector_index, self.settings.dimension, may_switch=False)
            lexical = LiveLexical(self.root, store, k1=self.settings.bm25["k1"], b=self.settings.bm25["b"])
            store.prune_deleted(through=min(live.save(), lexical.save()))
            store.close()
            self._snapshot = None  # this process reads the repaired state afresh
        return self.check()


class Writer:
    """One write: a SQLite transaction on the store; nothing is visible before ``commit``."""

    def __init__(self, directory: IndexDirectory) -> None:
        self._directory = directory
        self._done = False
        self.store = Store(directory.root / STORE_FILE)
        self._begun = False  # the SQLite write lock is taken at the first change, not while embedding
        self.changed = False

    def _begin(self) -> None:
        if not self._begun:
            self.store.begin()
            self._begun = True

    def content_hashes(self, doc_ids: list[str]) -> dict[str, str]:
        return self.store.content_hashes(doc_ids)

    def stored_groups(self, doc_ids: list[str]) -> dict[str, tuple[str, ...]]:
        return self.store.groups_of(doc_ids)

    def relabel(self, doc: Document, content_hash: str) -> None:
        """Give the stored document ``doc``'s groups and metadata: rows of the store, nothing embedded."""
        self._begin()
        if self.store.relabel_document(doc, content_hash):
            self.changed = True

    def put(self, doc: Document, content_hash: str, chunks: list[Chunk], vectors: np.ndarray,
            sentences: list[list[tuple[int, int]]], sentence_vectors: list[np.ndarray]) -> list[int]:
        """Add a document (replacing any with its id) with its chunks, their sentences and all vectors.

        ``sentences[i]`` are the document offsets of chunk ``i``'s sentences, ``sentence_vectors[i]`` theirs.
        Returns the chunk ids the replaced version had.
        """
        self._begin()
        removed = self.delete(doc.doc_id) or []
        self.store.put_document(doc, content_hash)
        ids = self.store.put_chunks(chunks, vectors)
        for chunk_id, spans, span_vectors in zip(ids, sentences, sentence_vectors, strict=True):
            self.store.put_sentences(chunk_id, spans, span_vectors)
        self.changed = True
        return removed

    def delete(self, doc_id: str) -> list[int] | None:
        """Remove a document; returns the chunk ids it had, or None if it was not there."""
        self._begin()
        removed = self.store.delete_document(doc_id)
        if removed is not None:
            self.changed = True
        return removed

    def commit(self) -> None:
        """Make the changes durable and visible: one SQLite commit."""
        if self.changed:
            self.store.commit()
        self._abort()
        if self.changed:
            self._directory._after_commit()

    def _abort(self) -> None:
        if self._done:
            return
        self._done = True
        with contextlib.suppress(Exception):
            self.store.rollback()
        with contextlib.suppress(Exception):
            self.store.close()
