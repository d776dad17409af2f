from __future__ import annotations

import sqlite3

from domain.types import Document, Exclusion
from index.store import Store

# The documents table as indexes written before exclusions were recorded have it.
_OLD_DOCUMENTS = """
CREATE TABLE documents (doc_id TEXT PRIMARY KEY, source TEXT NOT NULL, title TEXT NOT NULL,
    content_hash TEXT NOT NULL, text TEXT NOT NULL, metadata TEXT NOT NULL, page_starts TEXT, added_at REAL NOT NULL);
INSERT INTO documents VALUES ('old', 'old.txt', 'Old', 'h', 'Old text.', '{}', NULL, 0);
"""


def test_exclusions_round_trip(tmp_path):
    store = Store(tmp_path / "store.sqlite", create=True)
    doc = Document(doc_id="d", text="Body.\n\nHome\nAbout", source="d.txt", title="D",
                   excluded=(Exclusion(7, 17, "footer"),))
    store.begin()
    store.put_document(doc, "hash")
    store.commit()
    assert store.document("d") == doc


def test_a_store_from_before_exclusions_opens_read_only_and_is_migrated_when_written(tmp_path):
    path = tmp_path / "store.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(_OLD_DOCUMENTS)
    readonly = Store(path, readonly=True)
    assert readonly.document("old").excluded == () and readonly.document("old").text == "Old text."
    readonly.close()
    writable = Store(path)
    assert writable.document("old").excluded == ()
    columns = [row[1] for row in sqlite3.connect(path).execute("PRAGMA table_info(documents)")]
    assert "excluded" in columns


def test_a_store_from_before_groups_gets_them_once_with_every_document_public(tmp_path):
    from domain.access import PUBLIC_ONLY, Scope, parse_where
    from rag import Pipeline
    from rag.hash_embedder import HashEmbedder

    pipeline = Pipeline.open(tmp_path / "index", embedder=HashEmbedder())
    pipeline.ingest_record({"id": "a", "text": "Alpha text.", "metadata": {"lang": "en"}})
    pipeline.ingest_record({"id": "b", "text": "Beta text.", "metadata": {"lang": "de"}})
    pipeline.directory.close()
    path = tmp_path / "index" / "store.sqlite"
    with sqlite3.connect(path) as db:  # as written before groups, keys and feedback existed
        db.executescript("DROP TABLE doc_groups; DROP TABLE doc_fields; DROP TABLE api_keys; DROP TABLE feedback;")
    Store(path).close()
    Store(path).close()  # a second opening adds nothing more
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM doc_fields WHERE field = 'lang'").fetchone() == (2,)
    reopened = Pipeline.open(tmp_path / "index", embedder=HashEmbedder())
    assert [d.groups for d in reopened.documents(scope=PUBLIC_ONLY)] == [("public",), ("public",)]
    assert [d.doc_id for d in reopened.documents(scope=Scope(where=parse_where({"lang": "de"})))] == ["b"]
