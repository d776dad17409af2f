"""A write to the Milvus engine: new versions written aside, switched on at commit (see :mod:`index.milvus`)."""
from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from typing import TYPE_CHECKING

import numpy as np

from domain.errors import IndexStoreError
from domain.types import Chunk, Document
from index.lexical import lexical_text
from index.milvus_filters import labels
from index.milvus_schema import BATCH, MAX_VARCHAR, NO_VECTOR, PRIMARY_KEYS, in_filter, quote
from index.sentence_pack import pack_sentences

if TYPE_CHECKING:
    from index.milvus import MilvusIndex

__all__ = ["MilvusWriter"]

PIECE_CHARS = 16_000  # a document's text in pieces: 4 bytes per character at most, so a piece always fits
TEXT_CHARS = 15_000  # a chunk's text (at most a few thousand characters in practice)
_DOCUMENT_FIELDS = ["doc_id", "version", "title", "source", "content_hash", "meta", "n_chars", "n_chunks", "added_at",
                    "groups", "labels"]
# What a relabelled version copies of the one in force: every field but the keys, version and labels
# (a chunk's sparse vector Milvus computes again from its body).
_COPIED = {"texts": ["n", "text"],
           "chunks": ["chunk_id", "ordinal", "char_start", "char_end", "n_tokens", "text", "body", "dense"],
           "sentences": ["key", "chunk_id", "pieces", "data"]}
_INSERT_ROWS = BATCH // 10  # rows per insert of rows up to 64 kB each


def _access(groups: tuple[str, ...], source: str, title: str, metadata: dict) -> dict:
    """The ``groups`` and ``labels`` fields of a document's rows (:mod:`index.milvus_filters`)."""
    found = labels(source, title, metadata)
    if len(json.dumps(found, ensure_ascii=False).encode()) > MAX_VARCHAR:
        raise IndexStoreError(f"{source}: its metadata, title and source take more than 64 kB to filter on")
    return {"groups": list(groups), "labels": found}


def _meta(source: str, meta: dict) -> str:
    text = json.dumps(meta, ensure_ascii=False)
    if len(text.encode()) > MAX_VARCHAR:
        raise IndexStoreError(f"{source}: its metadata and page list take more than 64 kB")
    return text


def _whole(n_chunks: int, chunks: list[dict], sentences: list[dict]) -> bool:
    """Whether the rows read of a version are all of it. Another write replacing the document deletes them,
    chunks first, then sentences, then texts: read in the other order, whole chunks mean whole texts."""
    pieces = Counter(int(r["chunk_id"]) for r in sentences)
    return (len(chunks) == n_chunks and set(pieces) == {int(r["chunk_id"]) for r in chunks}
            and all(pieces[int(r["chunk_id"])] == int(r["pieces"]) for r in sentences))


def _piece_id(doc_id: str, version: int, n: int) -> str:
    return f"{doc_id}\x1f{version}\x1f{n}"


class MilvusWriter:
    """One write: new versions written aside, switched on at ``commit``, old versions removed after.

    Writers in other processes (API replicas) may write at the same time: with no lock across them,
    a writer deletes only the versions it saw in force and replaced, and its own superseded ones,
    never rows another writer may be about to switch on. When two replace one document at once the
    last switch wins and the other's rows become orphans for ``repair`` (which leaves young ones).
    """

    def __init__(self, index: MilvusIndex) -> None:
        self._index = index
        self._client = index._client
        self._switch: list[dict] = []  # documents rows to upsert at commit
        self._drop: list[str] = []  # documents to delete at commit
        self._written: list[tuple[str, int]] = []  # (doc_id, version) rows written, removed on abort
        self._replaced: dict[str, set[int]] = {}  # versions this write takes out of force, per document
        self._done = False

    def content_hashes(self, doc_ids: list[str]) -> dict[str, str]:
        rows = self._index.query_in("documents", "doc_id", sorted(set(doc_ids)), ["doc_id", "content_hash"])
        return {r["doc_id"]: r["content_hash"] for r in rows}

    def stored_groups(self, doc_ids: list[str]) -> dict[str, tuple[str, ...]]:
        rows = self._index.query_in("documents", "doc_id", sorted(set(doc_ids)), ["doc_id", "groups"])
        return {r["doc_id"]: tuple(r["groups"]) for r in rows}

    def _in_force(self, doc_id: str) -> dict | None:
        """The document's row in force as this write sees it (one it wrote, else the stored one; None: no
        such document). This write replaces that version: its rows are deleted at commit."""
        row = next((r for r in self._switch if r["doc_id"] == doc_id), None)
        if row is None and doc_id not in self._drop:
            rows = self._index.query("documents", f"doc_id == {quote(doc_id)}", _DOCUMENT_FIELDS)
            row = rows[0] if rows else None
        if row is not None:
            self._replaced.setdefault(doc_id, set()).add(int(row["version"]))
        return row

    def _current_chunk_ids(self, doc_id: str) -> list[int] | None:
        """The chunks of the version in force (None: no such document), which this write will replace."""
        row = self._in_force(doc_id)
        if row is None:
            return None
        rows = self._index.query("chunks", f"doc_id == {quote(doc_id)} and version == {int(row['version'])}",
                                 ["chunk_id"])
        return sorted(int(r["chunk_id"]) for r in rows)

    def _new_version(self, doc_id: str) -> int:
        version = time.time_ns()
        self._written.append((doc_id, version))
        return version

    def _insert(self, collection: str, rows: list[dict]) -> list:
        """Insert in batches; the primary keys, in the rows' order."""
        ids: list = []
        for i in range(0, len(rows), _INSERT_ROWS):
            ids += self._client.insert(self._index.name(collection), rows[i:i + _INSERT_ROWS])["ids"]
        return ids

    def _put_switch(self, row: dict) -> None:
        """Make ``row`` the document's row to switch on at commit."""
        self._switch = [r for r in self._switch if r["doc_id"] != row["doc_id"]] + [row]
        self._drop = [d for d in self._drop if d != row["doc_id"]]

    def put(self, doc: Document, content_hash: str, chunks: list[Chunk], vectors: np.ndarray,
            sentences: list[list[tuple[int, int]]], sentence_vectors: list[np.ndarray]) -> list[int]:
        access = _access(doc.groups, doc.source, doc.title, doc.metadata)
        meta = _meta(doc.source, {"metadata": doc.metadata,
                                  "page_starts": list(doc.page_starts) if doc.page_starts else None,
                                  "excluded": [[e.start, e.end, e.reason] for e in doc.excluded]})
        removed = self._current_chunk_ids(doc.doc_id) or []
        version = self._new_version(doc.doc_id)
        pieces = [doc.text[i:i + PIECE_CHARS] for i in range(0, len(doc.text), PIECE_CHARS)] or [""]
        self._insert("texts", [{"piece_id": _piece_id(doc.doc_id, version, n), "doc_id": doc.doc_id, "version": version,
                                "n": n, "text": piece, "v": NO_VECTOR} for n, piece in enumerate(pieces)])
        vectors = np.asarray(vectors, dtype=np.float32)
        title = doc.title[:2_000]
        rows = [{"doc_id": doc.doc_id, "version": version, "ordinal": c.ordinal, "char_start": c.char_start,
                 "char_end": c.char_end, "n_tokens": c.n_tokens, "text": c.text[:TEXT_CHARS],
                 "body": lexical_text(f"{title}\n{c.text}")[:TEXT_CHARS], "dense": v.tolist(), **access}
                for c, v in zip(chunks, vectors, strict=True)]
        ids = [int(i) for i in self._insert("chunks", rows)]
        sentence_rows = []
        for chunk_id, spans, span_vectors in zip(ids, sentences, sentence_vectors, strict=True):
            packed = pack_sentences(spans, span_vectors, self._index.settings.dimension)
            sentence_rows += [{"key": f"{chunk_id}.{n}", "chunk_id": chunk_id, "doc_id": doc.doc_id, "version": version,
                               "pieces": len(packed), "data": data, "v": NO_VECTOR} for n, data in enumerate(packed)]
        self._insert("sentences", sentence_rows)
        self._put_switch({"doc_id": doc.doc_id, "version": version, "title": doc.title, "source": doc.source,
                          "content_hash": content_hash, "meta": meta, "n_chars": len(doc.text), "n_chunks": len(ids),
                          "added_at": time.time(), **access, "v": NO_VECTOR})
        return removed

    def relabel(self, doc: Document, content_hash: str) -> None:
        """Give the stored document ``doc``'s groups and metadata: a new version whose rows are copies of
        the one in force (dense vectors and all) with the new labels, switched on at commit like any
        other. Nothing is embedded again; the chunks get new ids. A document not stored is left alone."""
        current = self._in_force(doc.doc_id)
        if current is None:
            return
        access = _access(doc.groups, current["source"], current["title"], doc.metadata)
        meta = _meta(current["source"], {**json.loads(current["meta"]), "metadata": doc.metadata})
        old = f"doc_id == {quote(doc.doc_id)} and version == {int(current['version'])}"
        texts, chunks, sentences = (self._index.scan(c, _COPIED[c], old) for c in ("texts", "chunks", "sentences"))
        if not _whole(int(current["n_chunks"]), chunks, sentences):
            raise IndexStoreError(f"document {doc.doc_id!r} was replaced by another write while its groups or "
                                  "metadata were being changed: try again")
        version = self._new_version(doc.doc_id)
        same = {"doc_id": doc.doc_id, "version": version}
        self._insert("texts", [{"piece_id": _piece_id(doc.doc_id, version, int(r["n"])), **same, "n": r["n"],
                                "text": r["text"], "v": NO_VECTOR} for r in texts])
        chunks.sort(key=lambda r: r["ordinal"])
        ids = self._insert("chunks", [{**{f: r[f] for f in _COPIED["chunks"][1:]}, **same,
                                       "dense": [float(x) for x in r["dense"]], **access} for r in chunks])
        renumbered = {int(r["chunk_id"]): int(i) for r, i in zip(chunks, ids, strict=True)}
        sentence_rows = []
        for r in sentences:
            chunk_id = renumbered[int(r["chunk_id"])]
            sentence_rows.append({"key": f"{chunk_id}.{r['key'].rsplit('.', 1)[1]}", "chunk_id": chunk_id, **same,
                                  "pieces": r["pieces"], "data": r["data"], "v": NO_VECTOR})
        self._insert("sentences", sentence_rows)
        self._put_switch({**{f: current[f] for f in _DOCUMENT_FIELDS}, **same, "content_hash": content_hash,
                          "meta": meta, **access, "v": NO_VECTOR})

    def delete(self, doc_id: str) -> list[int] | None:
        removed = self._current_chunk_ids(doc_id)
        self._switch = [r for r in self._switch if r["doc_id"] != doc_id]
        if removed is not None:
            self._drop.append(doc_id)
        return removed

    def commit(self) -> None:
        name = self._index.name
        if self._switch:
            self._client.upsert(name("documents"), self._switch)  # the switch: new versions in force
        if self._drop:
            self._client.delete(name("documents"), filter=in_filter("doc_id", self._drop))
        # Then the rows of the versions this write took out of force.
        replaced = {doc_id: versions for doc_id, versions in self._replaced.items() if versions}
        for collection, key in PRIMARY_KEYS:
            rows = self._index.query_in(collection, "doc_id", sorted(replaced), [key, "doc_id", "version"]) if replaced else []
            stale = [r[key] for r in rows if int(r["version"]) in replaced[r["doc_id"]]]
            for i in range(0, len(stale), BATCH):
                self._client.delete(name(collection), ids=stale[i:i + BATCH])
        if self._switch or self._drop:
            self._client.upsert(name("manifest"), [{"key": "writes", "value": str(self._index.writes() + 1),
                                                    "v": NO_VECTOR}])
            if self._index.embedded:
                # milvus-lite searches rows not yet sealed by brute force, ~35 µs each (measured: 2,000
                # such rows slow a 11k-chunk search from 14 to 69 ms); sealing after a write costs ~8 ms.
                # A server indexes growing segments itself and rate-limits flush: not called there.
                self._client.flush(name("chunks"))
        self._done = True

    def _abort(self) -> None:
        if self._done:
            return
        self._done = True
        for doc_id, version in self._written:  # never switched on: remove them (a crash leaves them to repair)
            for collection, _ in PRIMARY_KEYS:
                with contextlib.suppress(Exception):
                    self._client.delete(self._index.name(collection),
                                        filter=f"doc_id == {quote(doc_id)} and version == {version}")
