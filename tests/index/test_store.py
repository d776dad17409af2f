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
