"""The SQLite store: the source of truth of an index, and its commit point.

Documents, chunks (with their vectors) and sentences (with theirs) live in one SQLite file in WAL
mode. A write is one transaction: a crash leaves the last committed write or the one before it.
Readers in any process keep reading committed data while a write is in progress.

Each committed write gets the next sequence number (``meta.seq``). Chunks carry the number of the
write that added them and ``deleted_chunks`` remembers, by number, the chunks writes removed: a
process holding vectors or the lexical index in memory (:mod:`index.live`, :mod:`index.live_lexical`)
brings them up to date by reading only what changed since the number it holds.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from domain.access import Scope
from domain.limits import shown_metadata
from domain.types import Chunk, Document, DocumentInfo, Exclusion
from index.store_access import StoreAccess
from index.store_lexical import LexicalChanges, StoreLexical
from index.store_schema import FEEDBACK, SCHEMA, SCHEMA_2
from index.store_vectors import StoreVectors, unpack_vectors

__all__ = ["Store", "StoredChunk", "Changes", "LexicalChanges"]

_SQLITE_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class StoredChunk:
    """A chunk as stored, with what a citation needs from its document."""

    chunk_id: int
    doc_id: str
    ordinal: int
    char_start: int
    char_end: int
    text: str
    title: str
    source: str
    page_starts: tuple[int, ...] | None

    def page_of(self, offset: int) -> int | None:
        if not self.page_starts:
            return None
        return sum(1 for start in self.page_starts if start <= offset) or 1


@dataclass(frozen=True, slots=True)
class Changes:
    """What committed writes changed after a given sequence number, as of ``seq``."""

    seq: int
    added_ids: np.ndarray
    added_vectors: np.ndarray
    deleted_ids: np.ndarray
    complete: bool  # False when tombstones older than the asked number have been pruned


class Store(StoreAccess, StoreLexical, StoreVectors):
    """One SQLite file. Reads may come from any thread; writes come from one writer at a time."""

    def __init__(self, path: Path, *, readonly: bool = False, create: bool = False) -> None:
        self.path = path
        # Quoted: a '?', '#' or '%' in the index path would otherwise be read as URI syntax. Without
        # ``create`` a missing file is an error, not a new empty store.
        mode = "ro" if readonly else "rwc" if create else "rw"
        uri = f"file:{urllib.parse.quote(str(Path(path).absolute()))}?mode={mode}"
        self._db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.execute("PRAGMA busy_timeout = 60000")
        self._lock = threading.RLock()
        self._seq = 0  # the number the write in progress will commit as
        self._deltas = [0, 0, 0]  # documents, chunks added minus removed by it; chunks added plus removed
        if not readonly:
            self._db.execute("PRAGMA synchronous = FULL")  # a returned commit survives a power cut
            self._db.execute("PRAGMA journal_size_limit = 8388608")  # the WAL shrinks back to 8 MB after a checkpoint
            # Only a new or older store is written to here: opening a current one takes no write lock,
            # which a long write in another process would hold.
            tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master")}
            if "meta" not in tables:
                self._create_schema()
            if "chunks_fts" in tables:  # searched in memory now (index.lexical_index): the FTS5 copy goes
                self._drop_fts5()
            if "doc_groups" not in tables:
                self._add_access_tables()
            if "feedback" not in tables:
                with self._lock:
                    self._db.executescript(FEEDBACK)
        # Read as NULL (nothing recorded) and as public from an older store opened read-only.
        self._excluded_column = "excluded" if "excluded" in self._columns("documents") else "NULL"
        self._groups_column = ("(SELECT json_group_array(g.grp) FROM doc_groups g WHERE g.doc_id = d.doc_id)"
                               if self._columns("doc_groups") else "'[\"public\"]'")

    def _create_schema(self) -> None:
        with self._lock:
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.executescript(SCHEMA)
            for table, column, declaration in (("documents", "excluded", "TEXT"),
                                               ("chunks", "seq", "INTEGER NOT NULL DEFAULT 0")):
                if column not in self._columns(table):  # a store from an older version
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
            self._db.executescript(SCHEMA_2)

    def _drop_fts5(self) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DROP TABLE IF EXISTS chunks_fts")
            self._db.execute("DROP VIEW IF EXISTS chunk_bodies")
            self._db.execute("COMMIT")

    def _columns(self, table: str) -> set[str]:
        return {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}

    def close(self) -> None:
        self._db.close()

    # ---- writes (one writer; the caller wraps them in begin()/commit()) ----

    def begin(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        self._seq = self._meta("seq") + 1
        self._deltas = [0, 0, 0]

    def commit(self) -> int:
        """Commit the write; returns its sequence number."""
        self._db.executemany("UPDATE meta SET value = value + ? WHERE key = ?",
                             [(self._deltas[0], "documents"), (self._deltas[1], "chunks"),
                              (self._deltas[2], "changed_since_save")])
        self._db.execute("UPDATE meta SET value = ? WHERE key = 'seq'", (self._seq,))
        self._db.execute("COMMIT")
        return self._seq

    def rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def put_document(self, doc: Document, content_hash: str) -> None:
        self._db.execute(
            "INSERT INTO documents (doc_id, source, title, content_hash, text, metadata, page_starts, added_at, excluded) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                doc.doc_id,
                doc.source,
                doc.title,
                content_hash,
                doc.text,
                json.dumps(doc.metadata, ensure_ascii=False),
                json.dumps(list(doc.page_starts)) if doc.page_starts else None,
                time.time(),
                json.dumps([[ex.start, ex.end, ex.reason] for ex in doc.excluded]) if doc.excluded else None,
            ),
        )
        self._put_labels(doc)
        self._deltas[0] += 1

    def put_chunks(self, chunks: list[Chunk], vectors: np.ndarray) -> list[int]:
        """Insert a document's chunks with their vectors; returns their new chunk ids in order."""
        ids = []
        vectors = np.asarray(vectors, dtype=np.float32)
        for chunk, vector in zip(chunks, vectors, strict=True):
            cursor = self._db.execute(
                "INSERT INTO chunks (doc_id, ordinal, char_start, char_end, n_tokens, text, vector, seq) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (chunk.doc_id, chunk.ordinal, chunk.char_start, chunk.char_end, chunk.n_tokens,
                 chunk.text, vector.tobytes(), self._seq),
            )
            ids.append(int(cursor.lastrowid))
        self._deltas[1] += len(ids)
        self._deltas[2] += len(ids)
        return ids

    def put_sentences(self, chunk_id: int, spans: list[tuple[int, int]], vectors: np.ndarray) -> list[int]:
        """Insert a chunk's sentences (document offsets) with their vectors; returns their ids."""
        ids = []
        for (start, end), vector in zip(spans, np.asarray(vectors, dtype=np.float32), strict=True):
            cursor = self._db.execute(
                "INSERT INTO sentences (chunk_id, char_start, char_end, vector) VALUES (?, ?, ?, ?)",
                (chunk_id, start, end, vector.tobytes()),
            )
            ids.append(int(cursor.lastrowid))
        return ids

    def delete_document(self, doc_id: str) -> list[int] | None:
        """Remove a document and its chunks; returns the removed chunk ids, or None if it was not there."""
        removed = [row[0] for row in self._db.execute("SELECT chunk_id FROM chunks WHERE doc_id = ?", (doc_id,))]
        self._db.executemany("INSERT OR REPLACE INTO deleted_chunks (chunk_id, seq) VALUES (?, ?)",
                             [(chunk_id, self._seq) for chunk_id in removed])
        self._db.execute("DELETE FROM sentences WHERE chunk_id IN (SELECT chunk_id FROM chunks WHERE doc_id = ?)",
                         (doc_id,))
        self._db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
        existed = self._db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,)).rowcount > 0
        if not existed:
            return None
        self._deltas[0] -= 1
        self._deltas[1] -= len(removed)
        self._deltas[2] += len(removed)
        return removed

    def prune_deleted(self, through: int) -> None:
        """Forget the removals of writes up to number ``through``: a copy of the vectors as of that
        write has been saved (the caller holds the write lock, so no write came after it)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM deleted_chunks WHERE seq <= ?", (through,))
            self._db.execute("UPDATE meta SET value = max(value, ?) WHERE key = 'pruned_through'", (through,))
            self._db.execute("UPDATE meta SET value = 0 WHERE key = 'changed_since_save'")
            self._db.execute("COMMIT")

    def rebuild_derived_tables(self) -> None:
        """Recount the documents and chunks (repair, migration)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("UPDATE meta SET value = (SELECT count(*) FROM documents) WHERE key = 'documents'")
            self._db.execute("UPDATE meta SET value = (SELECT count(*) FROM chunks) WHERE key = 'chunks'")
            self._db.execute("UPDATE meta SET value = value + 1 WHERE key = 'seq'")
            self._db.execute("COMMIT")

    # ---- reads ----

    def _query(self, sql: str, params: Iterable = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """One read transaction: every query in it sees the same committed state."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield
            finally:
                self._db.execute("COMMIT")

    def _meta(self, key: str) -> int:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return int(rows[0][0]) if rows else 0

    def seq(self) -> int:
        """The number of the last committed write."""
        return self._meta("seq")

    def pruned_through(self) -> int:
        """Removals by writes up to this number are forgotten (a saved copy holds them)."""
        return self._meta("pruned_through")

    def counts(self) -> tuple[int, int, int]:
        """(write number, documents, chunks) as of the last committed write."""
        rows = dict(self._query("SELECT key, value FROM meta WHERE key IN ('seq', 'documents', 'chunks')"))
        return int(rows.get("seq", 0)), int(rows.get("documents", 0)), int(rows.get("chunks", 0))

    def changes_since(self, seq: int, dimension: int) -> Changes:
        """The chunks added (with vectors) and removed by the writes after number ``seq``."""
        with self._reading():
            now = self._meta("seq")
            complete = self._meta("pruned_through") <= seq
            added = self._query("SELECT chunk_id, vector FROM chunks INDEXED BY chunks_by_seq WHERE seq > ?", (seq,))
            deleted = self._query("SELECT chunk_id FROM deleted_chunks WHERE seq > ?", (seq,))
        ids, vectors = unpack_vectors(added, dimension)
        return Changes(now, ids, vectors, np.array([r[0] for r in deleted], dtype=np.int64), complete)

    def changed_since_save(self) -> int:
        """Chunks added or removed since the vectors were last saved."""
        return self._meta("changed_since_save")


    def content_hashes(self, doc_ids: Iterable[str]) -> dict[str, str]:
        wanted = list(doc_ids)
        found: dict[str, str] = {}
        for i in range(0, len(wanted), 500):
            batch = wanted[i : i + 500]
            marks = ",".join("?" * len(batch))
            rows = self._query(f"SELECT doc_id, content_hash FROM documents WHERE doc_id IN ({marks})", batch)
            found.update(rows)
        return found

    def document(self, doc_id: str, scope: Scope | None = None) -> Document | None:
        within, params = self._within(scope)
        rows = self._query(f"SELECT d.doc_id, d.text, d.source, d.title, d.metadata, d.page_starts, "
                           f"{self._excluded_column} FROM documents d WHERE d.doc_id = ?{within}", (doc_id, *params))
        if not rows:
            return None
        doc_id, text, source, title, metadata, page_starts, excluded = rows[0]
        return Document(
            groups=self.groups_of([doc_id]).get(doc_id, ()),
            doc_id=doc_id,
            text=text,
            source=source,
            title=title,
            metadata=shown_metadata(json.loads(metadata)),
            page_starts=tuple(json.loads(page_starts)) if page_starts else None,
            excluded=tuple(Exclusion(*ex) for ex in json.loads(excluded)) if excluded else (),
        )

    def documents(self, *, offset: int = 0, k: int | None = None, scope: Scope | None = None) -> list[DocumentInfo]:
        within, params = self._within(scope)
        rows = self._query(
            "SELECT d.doc_id, d.title, d.source, length(d.text), "
            "(SELECT count(*) FROM chunks c WHERE c.doc_id = d.doc_id), d.content_hash, d.metadata, d.page_starts, "
            f"{self._groups_column} FROM documents d WHERE 1{within} ORDER BY d.added_at, d.doc_id LIMIT ? OFFSET ?",
            # SQLite integers are 64-bit: a larger offset or k (say, from a query string) means "all".
            (*params, -1 if k is None else min(k, _SQLITE_MAX), min(offset, _SQLITE_MAX)),
        )
        return [
            DocumentInfo(
                doc_id=r[0], title=r[1], source=r[2], n_chars=r[3], n_chunks=r[4], content_hash=r[5],
                metadata=shown_metadata(json.loads(r[6])), pages=len(json.loads(r[7])) if r[7] else None,
                groups=tuple(sorted(json.loads(r[8]))),
            )
            for r in rows
        ]

    def count_documents(self) -> int:
        return self._query("SELECT count(*) FROM documents")[0][0]

    def chunks(self, chunk_ids: Iterable[int]) -> dict[int, StoredChunk]:
        wanted = [int(i) for i in chunk_ids]
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        return {chunk.chunk_id: chunk for chunk in self._stored_chunks(f"c.chunk_id IN ({marks})", wanted)}

    def document_chunks(self, doc_id: str, scope: Scope | None = None) -> list[StoredChunk]:
        """A document's chunks in document order (empty for an unknown document, or one outside ``scope``)."""
        within, params = self._within(scope)
        return self._stored_chunks(f"c.doc_id = ?{within} ORDER BY c.ordinal", (doc_id, *params))

    def _stored_chunks(self, where: str, params: Iterable) -> list[StoredChunk]:
        rows = self._query(
            "SELECT c.chunk_id, c.doc_id, c.ordinal, c.char_start, c.char_end, c.text, d.title, d.source, d.page_starts "
            f"FROM chunks c JOIN documents d ON d.doc_id = c.doc_id WHERE {where}", params)
        return [StoredChunk(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], tuple(json.loads(r[8])) if r[8] else None)
                for r in rows]

    def chunk_ids(self) -> np.ndarray:
        return np.array([r[0] for r in self._query("SELECT chunk_id FROM chunks ORDER BY chunk_id")], dtype=np.int64)

    def iter_chunk_texts(self) -> Iterator[tuple[int, str]]:
        """Every (chunk id, text), in chunk id order."""
        yield from self._query("SELECT chunk_id, text FROM chunks ORDER BY chunk_id")

    def chunk_slices_agree(self) -> list[int]:
        """Chunk ids whose stored text differs from their document's text at their offsets."""
        rows = self._query(
            "SELECT c.chunk_id FROM chunks c JOIN documents d ON d.doc_id = c.doc_id "
            "WHERE substr(d.text, c.char_start + 1, c.char_end - c.char_start) != c.text"
        )
        return [r[0] for r in rows]
