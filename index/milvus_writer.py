"""A write to the Milvus engine: new versions written aside, switched on at commit (see :mod:`index.milvus`)."""
from __future__ import annotations

import contextlib
import json
import time
from typing import TYPE_CHECKING

import numpy as np

from domain.errors import IndexStoreError
from domain.types import Chunk, Document
from index.lexical import lexical_text
from index.milvus_schema import BATCH, MAX_VARCHAR, NO_VECTOR, PRIMARY_KEYS, in_filter, quote
from index.sentence_pack import pack_sentences

if TYPE_CHECKING:
    from index.milvus import MilvusIndex

__all__ = ["MilvusWriter"]

PIECE_CHARS = 16_000  # a document's text in pieces: 4 bytes per character at most, so a piece always fits
TEXT_CHARS = 15_000  # a chunk's text (at most a few thousand characters in practice)


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

    def _current_chunk_ids(self, doc_id: str) -> list[int] | None:
        """The chunks of the version in force (None: no such document), which this write will replace."""
        pending = next((row["version"] for row in self._switch if row["doc_id"] == doc_id), None)
        if pending is not None:  # written earlier in this write: it replaces that, and what that replaced
            version: int | None = pending
        elif doc_id in self._drop:
            return None
        else:
            version = self._index.current_versions([doc_id]).get(doc_id)
            if version is None:
                return None
        self._replaced.setdefault(doc_id, set()).add(version)
        rows = self._index.query("chunks", f"doc_id == {quote(doc_id)} and version == {version}", ["chunk_id"])
        return sorted(int(r["chunk_id"]) for r in rows)

    def put(self, doc: Document, content_hash: str, chunks: list[Chunk], vectors: np.ndarray,
            sentences: list[list[tuple[int, int]]], sentence_vectors: list[np.ndarray]) -> list[int]:
        removed = self._current_chunk_ids(doc.doc_id) or []
        version = time.time_ns()
        self._written.append((doc.doc_id, version))
        name = self._index.name
        pieces = [doc.text[i:i + PIECE_CHARS] for i in range(0, len(doc.text), PIECE_CHARS)] or [""]
        self._client.insert(name("texts"), [{"piece_id": f"{doc.doc_id}\x1f{version}\x1f{n}", "doc_id": doc.doc_id,
                                             "version": version, "n": n, "text": piece, "v": NO_VECTOR}
                                            for n, piece in enumerate(pieces)])
        vectors = np.asarray(vectors, dtype=np.float32)
        title = doc.title[:2_000]
        rows = [{"doc_id": doc.doc_id, "version": version, "ordinal": c.ordinal, "char_start": c.char_start,
                 "char_end": c.char_end, "n_tokens": c.n_tokens, "text": c.text[:TEXT_CHARS],
                 "body": lexical_text(f"{title}\n{c.text}")[:TEXT_CHARS], "dense": v.tolist()} for c, v in zip(chunks, vectors, strict=True)]
        ids = [int(i) for i in self._client.insert(name("chunks"), rows)["ids"]] if rows else []
        sentence_rows = []
        for chunk_id, spans, span_vectors in zip(ids, sentences, sentence_vectors, strict=True):
            packed = pack_sentences(spans, span_vectors, self._index.settings.dimension)
            sentence_rows += [{"key": f"{chunk_id}.{n}", "chunk_id": chunk_id, "doc_id": doc.doc_id, "version": version,
                               "pieces": len(packed), "data": data, "v": NO_VECTOR} for n, data in enumerate(packed)]
        for i in range(0, len(sentence_rows), BATCH // 10):  # pieces of up to 64 kB
            self._client.insert(name("sentences"), sentence_rows[i:i + BATCH // 10])
        meta = json.dumps({"metadata": doc.metadata, "page_starts": list(doc.page_starts) if doc.page_starts else None,
                           "excluded": [[e.start, e.end, e.reason] for e in doc.excluded]}, ensure_ascii=False)
        if len(meta.encode()) > MAX_VARCHAR:
            raise IndexStoreError(f"{doc.source}: its metadata and page list take more than 64 kB")
        self._switch = [r for r in self._switch if r["doc_id"] != doc.doc_id]
        self._drop = [d for d in self._drop if d != doc.doc_id]
        self._switch.append({"doc_id": doc.doc_id, "version": version, "title": doc.title, "source": doc.source,
                             "content_hash": content_hash, "meta": meta, "n_chars": len(doc.text),
                             "n_chunks": len(ids), "added_at": time.time(), "v": NO_VECTOR})
        return removed

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
