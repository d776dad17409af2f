"""The index directory: a manifest, and one complete generation of every store.

::

    INDEX_DIR/
      manifest.json        the commit point: settings, counts and the current generation
      gen-000007/          one complete, immutable state
        store.sqlite       documents, chunks, sentences and their vectors (the source of truth)
        vectors.faiss      derived: dense search over chunks
        bm25/              derived: lexical search
      .lock                writers hold an exclusive flock on it

Sentence vectors live only in the store: retrieval scores the sentences of the chunks it has
already pooled, so no search over all sentences is needed. Generations written before that may
still hold ``sentences.faiss`` and ``sentence_chunks.npy``; they are ignored, and swept with
their generation.

A writer copies the current generation's store, applies its changes, writes the derived
indexes into a new ``gen-N`` folder, fsyncs it all and only then replaces ``manifest.json``
(write to a temporary file, fsync, rename). A crash at any point therefore leaves either the
old generation or the new one in force, never a mix; leftovers are swept by the next writer.
Readers keep the generation they opened until they ask for a newer one.
"""
from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from index.check import CheckReport, check_generation
from index.lexical import Bm25Index
from index.manifest import (BM25_DIR, MANIFEST, SCHEMA_VERSION, STORE_FILE, VECTORS_FILE, IndexSettings, Manifest,
                            fsync_dir, fsync_tree, gen_dir)
from index.sentence_table import SentenceTable, SentenceVectors
from index.store import Store, StoredChunk
from index.vectors import VectorIndex, create_vector_index, load_vector_index
from rag.errors import IndexCorruptError, IndexMismatchError, IndexStoreError
from rag.types import Chunk, Document, DocumentInfo

__all__ = ["IndexDirectory", "Snapshot", "Writer", "CheckReport", "IndexSettings", "Manifest", "MANIFEST"]

logger = logging.getLogger(__name__)



def _read_manifest(root: Path) -> Manifest | None:
    """The manifest of the index at ``root``, or None if there is none."""
    path = root / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        manifest = Manifest.from_json(text)
    except (ValueError, TypeError, KeyError) as exc:
        raise IndexCorruptError(f"{path} is not a valid manifest: {exc}") from exc
    if manifest.schema_version != SCHEMA_VERSION:
        raise IndexMismatchError(
            f"{path} has schema version {manifest.schema_version}; this version reads {SCHEMA_VERSION}. Rebuild the index."
        )
    return manifest


class Snapshot:
    """One generation, opened read-only. Safe to share between threads."""

    def __init__(self, root: Path, manifest: Manifest) -> None:
        self.manifest = manifest
        self.generation = manifest.generation
        self._sentences: SentenceTable | None = None  # loaded on first use
        self._sentences_lock = threading.Lock()
        folder = gen_dir(root, manifest.generation)
        try:
            self.store = Store(folder / STORE_FILE, readonly=True)
            self.vectors: VectorIndex = load_vector_index(manifest.settings.vector_index, folder / VECTORS_FILE)
            self.lexical = Bm25Index.load(folder / BM25_DIR)
        except (OSError, RuntimeError, ValueError, KeyError) as exc:
            raise IndexCorruptError(f"cannot read generation {manifest.generation} of the index in {root}: {exc} "
                                    "(`rag check --repair` rebuilds FAISS and BM25 from the store)") from exc

    def close(self) -> None:
        self.store.close()

    def dense(self, query_vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores, ids = self.vectors.search(query_vector, k)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def lexical_search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self.lexical.search(query, k)

    def sentences(self, chunk_ids: list[int]) -> SentenceVectors:
        """For each chunk id: its sentences' document offsets and their vectors."""
        dimension = self.manifest.settings.dimension
        if self.manifest.settings.vector_index != "flat":  # large collections: not all in memory
            return self.store.sentences(chunk_ids, dimension)
        if self._sentences is None:
            with self._sentences_lock:
                if self._sentences is None:
                    self._sentences = SentenceTable.load(self.store, dimension)
        return self._sentences.get(chunk_ids)

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
        self._snapshot_lock = threading.Lock()
        self._snapshot: Snapshot | None = None

    # ---- opening ----

    @classmethod
    def open(cls, root: str | os.PathLike[str], settings: IndexSettings, *, create: bool = True) -> IndexDirectory:
        """Open the index at ``root``, creating an empty one if allowed.

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
        manifest = _read_manifest(Path(root))
        return manifest.settings if manifest is not None else None

    def read_manifest(self) -> Manifest | None:
        return _read_manifest(self.root)

    def _create(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with self._locked():
            if self.read_manifest() is not None:
                return
            folder = gen_dir(self.root, 0)
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            empty = create_vector_index(self.settings.vector_index, self.settings.dimension)
            self._write_derived(folder, empty, Store(folder / STORE_FILE))
            now = time.time()
            self._publish(folder, Manifest(SCHEMA_VERSION, 0, self.settings, 0, 0, now, now))

    # ---- reading ----

    def snapshot(self) -> Snapshot:
        """The newest committed generation (re-reading the manifest if another process wrote)."""
        manifest = self.read_manifest()
        if manifest is None:
            raise IndexStoreError(f"the index at {self.root} has disappeared")
        current = self._snapshot
        if current is not None and current.generation == manifest.generation:
            return current
        with self._snapshot_lock:
            current = self._snapshot
            if current is not None and current.generation == manifest.generation:
                return current
            for attempt in range(5):
                try:
                    fresh = Snapshot(self.root, manifest)
                    break
                except (IndexCorruptError, sqlite3.OperationalError, OSError):
                    # A writer may have swept that generation (its files) between our two reads: read again.
                    newer = self.read_manifest()
                    if attempt == 4 or newer is None or newer.generation == manifest.generation:
                        raise
                    manifest = newer
            self._snapshot = fresh
            return fresh

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
            base = self.snapshot()
            self._sweep(keep=base.generation)
            writer = Writer(self, base.manifest, vectors=base.vectors.copy(), base=base)
            try:
                yield writer
            finally:
                writer._abort()

    def _sweep(self, keep: int) -> None:
        """Remove every generation but ``keep``: older ones and leftovers of crashed writers."""
        for folder in self.root.glob("gen-*"):
            if folder.name != gen_dir(self.root, keep).name:
                shutil.rmtree(folder, ignore_errors=True)
        for tmp in self.root.glob(f"{MANIFEST}.*.tmp"):
            tmp.unlink(missing_ok=True)

    def _write_derived(self, folder: Path, vectors: VectorIndex, store: Store) -> None:
        vectors.save(folder / VECTORS_FILE)
        lexical = Bm25Index(**self.settings.bm25)
        ids, texts = [], []
        for chunk_id, title, text in store.iter_titled_chunk_texts():
            ids.append(chunk_id)
            texts.append(f"{title}\n{text}")  # the title helps tell apart chunks of different documents
        lexical.build(np.array(ids, dtype=np.int64), texts)
        lexical.save(folder / BM25_DIR)
        store.close()

    def _publish(self, folder: Path, manifest: Manifest) -> None:
        fsync_tree(folder)
        fsync_dir(self.root)
        tmp = self.root / f"{MANIFEST}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(manifest.to_json())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.root / MANIFEST)
        fsync_dir(self.root)

    # ---- checking ----

    def check(self) -> CheckReport:
        """Do the manifest, the store, FAISS and BM25 on disk agree on every chunk?

        Each part is read afresh from disk (not from this process's cached snapshot), and a part
        that cannot be read at all is reported as a problem rather than raised.

        Raises:
            IndexStoreError: there is no manifest, or it cannot be parsed.
        """
        manifest = self.read_manifest()
        if manifest is None:
            raise IndexStoreError(f"no index at {self.root}")
        return check_generation(gen_dir(self.root, manifest.generation), manifest)

    def repair(self) -> CheckReport:
        """Rebuild FAISS and BM25 (and the manifest's counts) from the store into a new generation.

        Works even when the derived parts cannot be read at all: only the store is needed.
        """
        with self._locked():
            manifest = self.read_manifest()
            if manifest is None:
                raise IndexStoreError(f"no index at {self.root}")
            self._sweep(keep=manifest.generation)
            try:
                writer = Writer(self, manifest, vectors=None)
            except (sqlite3.Error, OSError) as exc:
                raise IndexCorruptError(f"cannot repair the index in {self.root}: its store, the source of truth, "
                                        f"cannot be read ({exc}); rebuild it from the original files") from exc
            try:
                writer.rebuild_derived()
                writer.commit()
            finally:
                writer._abort()
        return self.check()


class Writer:
    """Changes to a copy of the current generation; nothing is visible before ``commit``."""

    def __init__(self, directory: IndexDirectory, manifest: Manifest, *, vectors: VectorIndex | None,
                 base: Snapshot | None = None) -> None:
        self._directory = directory
        self._manifest = manifest
        self._base = base
        self.generation = manifest.generation + 1
        self.folder = gen_dir(directory.root, self.generation)
        self._done = False
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir()
        shutil.copyfile(gen_dir(directory.root, manifest.generation) / STORE_FILE, self.folder / STORE_FILE)
        self.store = Store(self.folder / STORE_FILE)
        self.store.begin()
        # Without a readable base (repair), the vectors are rebuilt from the store before use.
        self.vectors = (vectors if vectors is not None
                        else create_vector_index(directory.settings.vector_index, directory.settings.dimension))
        self.changed = False

    def content_hashes(self, doc_ids: list[str]) -> dict[str, str]:
        return self.store.content_hashes(doc_ids)

    def put(self, doc: Document, content_hash: str, chunks: list[Chunk], vectors: np.ndarray,
            sentences: list[list[tuple[int, int]]], sentence_vectors: list[np.ndarray]) -> list[int]:
        """Add a document (replacing any with its id) with its chunks, their sentences and all vectors.

        ``sentences[i]`` are the document offsets of chunk ``i``'s sentences, ``sentence_vectors[i]`` theirs;
        they go to the store only (retrieval reads them back per pooled chunk).
        Returns the chunk ids the replaced version had.
        """
        removed = self.delete(doc.doc_id) or []
        self.store.put_document(doc, content_hash)
        ids = self.store.put_chunks(chunks, vectors)
        self.vectors.add(np.array(ids, dtype=np.int64), vectors)
        for chunk_id, spans, span_vectors in zip(ids, sentences, sentence_vectors, strict=True):
            self.store.put_sentences(chunk_id, spans, span_vectors)
        self.changed = True
        return removed

    def delete(self, doc_id: str) -> list[int] | None:
        """Remove a document; returns the chunk ids it had, or None if it was not there."""
        removed = self.store.delete_document(doc_id)
        if removed is None:
            return None
        self.vectors.delete(np.array(removed, dtype=np.int64))
        self.changed = True
        return removed

    def rebuild_derived(self) -> None:
        settings = self._directory.settings
        self.vectors = create_vector_index(settings.vector_index, settings.dimension)
        self.vectors.add(*self.store.vectors(settings.dimension))
        self.changed = True

    def commit(self) -> Snapshot:
        """Make the changes durable and visible; returns the new snapshot (the old one if nothing changed)."""
        if not self.changed and self._base is not None:
            self._abort()
            return self._base
        self.store.commit()
        counts = (self.store.count_documents(), self.store.count_chunks())
        self._directory._write_derived(self.folder, self.vectors, self.store)
        manifest = Manifest(SCHEMA_VERSION, self.generation, self._directory.settings, counts[0], counts[1],
                            self._manifest.created_at, time.time())
        self._directory._publish(self.folder, manifest)
        self._done = True
        snapshot = self._directory.snapshot()
        self._directory._sweep(keep=self.generation)
        return snapshot

    def _abort(self) -> None:
        if self._done:
            return
        self._done = True
        with contextlib.suppress(Exception):
            self.store.rollback()
        with contextlib.suppress(Exception):
            self.store.close()
        shutil.rmtree(self.folder, ignore_errors=True)
