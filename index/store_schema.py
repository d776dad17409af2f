"""The store's tables: those every version wrote (``SCHEMA``) and those of schema 2 (``SCHEMA_2``):
write numbers, counts and removals by write (older stores also had an FTS5 lexical index, dropped
on opening: lexical search is in memory now, :mod:`index.lexical_index`); and those of
who may read what (``ACCESS``): each document's groups, what it can be filtered by, and the API keys."""
from __future__ import annotations

__all__ = ["SCHEMA", "SCHEMA_2", "ACCESS", "FEEDBACK"]

SCHEMA = """
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
    vector     BLOB NOT NULL,
    seq        INTEGER NOT NULL DEFAULT 0
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
# Added by schema 2 (and by the migration of a schema-1 store).
SCHEMA_2 = """
CREATE INDEX IF NOT EXISTS chunks_by_seq ON chunks(seq);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('seq', 0), ('documents', 0), ('chunks', 0), ('pruned_through', 0),
    ('changed_since_save', 0);
CREATE TABLE IF NOT EXISTS deleted_chunks (chunk_id INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS deleted_by_seq ON deleted_chunks(seq);
"""
# Added by schema 3 (and to an older store when it is opened for writing: every document is public).
# ``doc_fields``: one row per filterable value (domain.access.field_values); kind s/n/b/d, ``listed``
# for an element of a metadata list.
ACCESS = """
CREATE TABLE IF NOT EXISTS doc_groups (
    grp    TEXT NOT NULL,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    PRIMARY KEY (grp, doc_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS doc_groups_by_doc ON doc_groups(doc_id);
CREATE TABLE IF NOT EXISTS doc_fields (
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    field  TEXT NOT NULL,
    kind   TEXT NOT NULL,
    listed INTEGER NOT NULL,
    value  NOT NULL
);
CREATE INDEX IF NOT EXISTS doc_fields_by_value ON doc_fields(field, kind, value);
CREATE INDEX IF NOT EXISTS doc_fields_by_doc ON doc_fields(doc_id);
CREATE TABLE IF NOT EXISTS api_keys (
    name       TEXT PRIMARY KEY,
    digest     TEXT NOT NULL UNIQUE,
    groups     TEXT NOT NULL,
    write      INTEGER NOT NULL,
    created_at REAL NOT NULL
);
"""
# People's feedback on answers (domain.feedback), as JSON; added to any store opened for writing.
FEEDBACK = """
CREATE TABLE IF NOT EXISTS feedback (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at REAL NOT NULL,
    data       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_by_time ON feedback(created_at);
"""
