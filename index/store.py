"""The SQLite store: documents, chunks, sentences and their vectors — the source of truth of an index.

FAISS and BM25 are derived from it and can always be rebuilt from it (``rag check --repair``).
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.types import Chunk, Document, DocumentInfo, Exclusion

__all__ = ["Store", "StoredChunk"]

_SQLITE_MAX = 2**63 - 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id       TEXT PRIMARY KEY,
    source       TEXT NOT NULL,
    title        TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    text         TEXT NOT NULL,
    metadata     TEXT NOT NULL,
    page_starts  TEXT,
    added_at     REAL NOT NULL,
    excluded     TEXT
);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id     TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    ordinal    INTEGER NOT NULL,
    char_start INTEGER NOT NULL,
    char_end   INTEGER NOT NULL,
    n_tokens   INTEGER NOT NULL,
    text       TEXT NOT NULL,
    vector     BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks(doc_id, ordinal);
CREATE TABLE IF NOT EXISTS sentences (
    sentence_id INTEGER PRIMARY KEY AUTOINCREMENT,
    chunk_id    INTEGER NOT NULL REFERENCES chunks(chunk_id) ON DELETE CASCADE,
    char_start  INTEGER NOT NULL,
    char_end    INTEGER NOT NULL,
    vector      BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS sentences_by_chunk ON sentences(chunk_id, sentence_id);
"""


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


class Store:
    """One SQLite file. Reads may come from any thread; writes come from one writer at a time."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        # Quoted: a '?', '#' or '%' in the index path would otherwise be read as URI syntax.
        uri = f"file:{urllib.parse.quote(str(Path(path).absolute()))}" + ("?mode=ro" if readonly else "")
        self._db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA foreign_keys = ON")
        self._lock = threading.Lock()
        if not readonly:
            self._db.execute("PRAGMA journal_mode = DELETE")
            self._db.executescript(_SCHEMA)
            if not self._has_excluded_column():  # a store written before exclusions were recorded
                self._db.execute("ALTER TABLE documents ADD COLUMN excluded TEXT")
        # Read as NULL (nothing recorded) from an older store opened read-only.
        self._excluded_column = "excluded" if self._has_excluded_column() else "NULL"

    def _has_excluded_column(self) -> bool:
        return any(row[1] == "excluded" for row in self._db.execute("PRAGMA table_info(documents)"))

    def close(self) -> None:
        self._db.close()

    # ---- writes (one writer; the caller wraps them in begin()/commit()) ----

    def begin(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._db.execute("COMMIT")

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

    def put_chunks(self, chunks: list[Chunk], vectors: np.ndarray) -> list[int]:
        """Insert chunks with their vectors; returns their new chunk ids in order."""
        ids = []
        vectors = np.asarray(vectors, dtype=np.float32)
        for chunk, vector in zip(chunks, vectors, strict=True):
            cursor = self._db.execute(
                "INSERT INTO chunks (doc_id, ordinal, char_start, char_end, n_tokens, text, vector) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (chunk.doc_id, chunk.ordinal, chunk.char_start, chunk.char_end, chunk.n_tokens,
                 chunk.text, vector.tobytes()),
            )
            ids.append(int(cursor.lastrowid))
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
        self._db.execute("DELETE FROM sentences WHERE chunk_id IN (SELECT chunk_id FROM chunks WHERE doc_id = ?)",
                         (doc_id,))
        self._db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
        existed = self._db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,)).rowcount > 0
        return removed if existed else None

    # ---- reads ----

    def _query(self, sql: str, params: Iterable = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    def content_hashes(self, doc_ids: Iterable[str]) -> dict[str, str]:
        wanted = list(doc_ids)
        found: dict[str, str] = {}
        for i in range(0, len(wanted), 500):
            batch = wanted[i : i + 500]
            marks = ",".join("?" * len(batch))
            rows = self._query(f"SELECT doc_id, content_hash FROM documents WHERE doc_id IN ({marks})", batch)
            found.update(rows)
        return found

    def document(self, doc_id: str) -> Document | None:
        rows = self._query(f"SELECT doc_id, text, source, title, metadata, page_starts, {self._excluded_column} "
                           "FROM documents WHERE doc_id = ?", (doc_id,))
        if not rows:
            return None
        doc_id, text, source, title, metadata, page_starts, excluded = rows[0]
        return Document(
            doc_id=doc_id,
            text=text,
            source=source,
            title=title,
            metadata=json.loads(metadata),
            page_starts=tuple(json.loads(page_starts)) if page_starts else None,
            excluded=tuple(Exclusion(*ex) for ex in json.loads(excluded)) if excluded else (),
        )

    def documents(self, *, offset: int = 0, k: int | None = None) -> list[DocumentInfo]:
        rows = self._query(
            "SELECT d.doc_id, d.title, d.source, length(d.text), "
            "(SELECT count(*) FROM chunks c WHERE c.doc_id = d.doc_id), d.content_hash, d.metadata, d.page_starts "
            "FROM documents d ORDER BY d.added_at, d.doc_id LIMIT ? OFFSET ?",
            # SQLite integers are 64-bit: a larger offset or k (say, from a query string) means "all".
            (-1 if k is None else min(k, _SQLITE_MAX), min(offset, _SQLITE_MAX)),
        )
        return [
            DocumentInfo(
                doc_id=r[0], title=r[1], source=r[2], n_chars=r[3], n_chunks=r[4], content_hash=r[5],
                metadata=json.loads(r[6]), pages=len(json.loads(r[7])) if r[7] else None,
            )
            for r in rows
        ]

    def count_documents(self) -> int:
        return self._query("SELECT count(*) FROM documents")[0][0]

    def count_chunks(self) -> int:
        return self._query("SELECT count(*) FROM chunks")[0][0]

    def chunks(self, chunk_ids: Iterable[int]) -> dict[int, StoredChunk]:
        wanted = [int(i) for i in chunk_ids]
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        return {chunk.chunk_id: chunk for chunk in self._stored_chunks(f"c.chunk_id IN ({marks})", wanted)}

    def document_chunks(self, doc_id: str) -> list[StoredChunk]:
        """A document's chunks in document order (empty for an unknown document)."""
        return self._stored_chunks("c.doc_id = ? ORDER BY c.ordinal", (doc_id,))

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

    def iter_titled_chunk_texts(self) -> Iterator[tuple[int, str, str]]:
        """Every (chunk id, document title, chunk text), in chunk id order."""
        yield from self._query("SELECT c.chunk_id, d.title, c.text FROM chunks c JOIN documents d ON d.doc_id = c.doc_id "
                               "ORDER BY c.chunk_id")

    def vectors(self, dimension: int) -> tuple[np.ndarray, np.ndarray]:
        """Every (chunk ids, vectors), in chunk id order."""
        rows = self._query("SELECT chunk_id, vector FROM chunks ORDER BY chunk_id")
        return _unpack(rows, dimension)

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

    def chunk_slices_agree(self) -> list[int]:
        """Chunk ids whose stored text differs from their document's text at their offsets."""
        rows = self._query(
            "SELECT c.chunk_id FROM chunks c JOIN documents d ON d.doc_id = c.doc_id "
            "WHERE substr(d.text, c.char_start + 1, c.char_end - c.char_start) != c.text"
        )
        return [r[0] for r in rows]


def _unpack(rows: list[tuple], dimension: int) -> tuple[np.ndarray, np.ndarray]:
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), dimension)
    return ids, vectors
