"""The store's part in who may read what: each document's groups and filterable values (the ``doc_groups``
and ``doc_fields`` tables of :mod:`index.store_schema`), written with the document, and reads of what a
:class:`~domain.access.Scope` admits, found through those tables' indexes (:mod:`index.scope_sql`)."""
from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable

import numpy as np

from domain.access import Scope
from domain.types import Document
from index.scope_sql import admitted_documents, field_rows
from index.store_schema import ACCESS

__all__ = ["StoreAccess"]


class StoreAccess:
    """Groups and filterable values, mixed into :class:`index.store.Store` (which provides the connection,
    its lock and ``_query``)."""

    _db: sqlite3.Connection
    _lock: threading.RLock
    _groups_column: str

    def _add_access_tables(self) -> None:
        """Schema 3: groups, filterable fields and keys; the documents already stored are public."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")  # one transaction: the tables and their rows, or nothing
            if self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'doc_groups'").fetchall():
                self._db.execute("COMMIT")  # another process added them while this one waited for the lock
                return
            for statement in filter(str.strip, ACCESS.split(";")):
                self._db.execute(statement)
            self._db.execute("INSERT OR IGNORE INTO doc_groups (grp, doc_id) SELECT 'public', doc_id FROM documents")
            for doc_id, source, title, metadata in self._db.execute(
                    "SELECT doc_id, source, title, metadata FROM documents").fetchall():
                doc = Document(doc_id=doc_id, text="", source=source, title=title, metadata=json.loads(metadata))
                self._db.executemany("INSERT INTO doc_fields VALUES (?, ?, ?, ?, ?)", field_rows(doc))
            self._db.execute("COMMIT")

    def _put_labels(self, doc: Document) -> None:
        self._db.executemany("INSERT INTO doc_groups (grp, doc_id) VALUES (?, ?)", [(g, doc.doc_id) for g in doc.groups])
        self._db.executemany("INSERT INTO doc_fields VALUES (?, ?, ?, ?, ?)", field_rows(doc))

    def relabel_document(self, doc: Document, content_hash: str) -> bool:
        """Give the stored document ``doc``'s groups and metadata; False if it is not stored."""
        rows = self._db.execute("SELECT source, title FROM documents WHERE doc_id = ?", (doc.doc_id,)).fetchall()
        if not rows:
            return False
        self._db.execute("UPDATE documents SET metadata = ?, content_hash = ? WHERE doc_id = ?",
                         (json.dumps(doc.metadata, ensure_ascii=False), content_hash, doc.doc_id))
        self._db.execute("DELETE FROM doc_groups WHERE doc_id = ?", (doc.doc_id,))
        self._db.execute("DELETE FROM doc_fields WHERE doc_id = ?", (doc.doc_id,))
        source, title = rows[0]
        self._put_labels(Document(doc.doc_id, "", source, title, doc.metadata, groups=doc.groups))
        return True

    def groups_of(self, doc_ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """The groups of those of ``doc_ids`` that are stored."""
        wanted = list(doc_ids)
        found: dict[str, list[str]] = {}
        for i in range(0, len(wanted), 500):
            batch = wanted[i : i + 500]
            for doc_id, groups in self._query(f"SELECT d.doc_id, {self._groups_column} FROM documents d WHERE "
                                              f"d.doc_id IN ({','.join('?' * len(batch))})", batch):
                found[doc_id] = json.loads(groups)
        return {doc_id: tuple(sorted(groups)) for doc_id, groups in found.items()}

    # ---- reads within a scope (index.scope_sql); ``None`` admits everything ----

    @staticmethod
    def _within(scope: Scope | None, column: str = "d.doc_id") -> tuple[str, list]:
        """``AND <column> IN (the admitted documents)``, or nothing for an unrestricted scope."""
        if scope is None or scope.unrestricted:
            return "", []
        admitted, params = admitted_documents(scope)
        return f" AND {column} IN ({admitted})", params

    def present_groups(self) -> set[str]:
        """Every group some document belongs to (one index step per group, however many documents)."""
        rows = self._query("WITH RECURSIVE g(name) AS (SELECT min(grp) FROM doc_groups UNION ALL "
                           "SELECT (SELECT min(grp) FROM doc_groups WHERE grp > name) FROM g WHERE name IS NOT NULL) "
                           "SELECT name FROM g WHERE name IS NOT NULL")
        return {row[0] for row in rows}

    def admitted_chunk_ids(self, scope: Scope) -> np.ndarray:
        """The ids of every chunk of the documents ``scope`` admits, ascending."""
        within, params = self._within(scope, "doc_id")
        rows = self._query(f"SELECT chunk_id FROM chunks WHERE 1{within} ORDER BY chunk_id", params)
        return np.array([r[0] for r in rows], dtype=np.int64)

    def count_admitted(self, scope: Scope) -> tuple[int, int]:
        """How many documents, and chunks of them, ``scope`` admits."""
        within, params = self._within(scope)
        rows = self._query(f"SELECT count(*), coalesce(sum((SELECT count(*) FROM chunks c WHERE c.doc_id = d.doc_id)), 0) "
                           f"FROM documents d WHERE 1{within}", params)
        return rows[0][0], rows[0][1]
