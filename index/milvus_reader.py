"""Reads of a Milvus index (:class:`MilvusReader`), one per question: what its searches return is kept,
so that a question costs two rounds of calls to the server."""
from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from domain.access import Scope
from domain.limits import shown_metadata
from domain.types import Document, DocumentInfo, Exclusion
from index.lexical import lexical_text
from index.milvus_filters import scope_filter
from index.milvus_schema import quote
from index.sentence_pack import unpack_sentences
from index.sentence_table import SentenceVectors
from index.store import StoredChunk

if TYPE_CHECKING:
    from index.milvus import MilvusIndex

__all__ = ["MilvusReader"]

logger = logging.getLogger(__name__)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _side_by_side() -> ThreadPoolExecutor:
    """Threads for a look-up that runs while another waits on the server (one pool per process)."""
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="milvus-lookup")
    return _pool


class MilvusReader:
    """Reads within a :class:`~domain.access.Scope`; every chunk returned belongs to its document's
    current version.

    One question costs two rounds of calls, each run side by side: the dense and BM25 searches (which
    return the pooled chunks' rows with their ids), then the pool's packed sentences and its documents
    (titles and current versions). The chunks' text then needs no further call: a reader keeps what its
    searches and look-ups returned, so make one per question (:meth:`MilvusIndex.snapshot` does).

    The scope is a filter (:mod:`index.milvus_filters`) on every search and look-up of chunks and
    documents, both of which carry their document's labels; a chunk counts only if its document's row,
    looked up through the filter too, is in force with the chunk's version, so a chunk of a version a
    relabelling has just replaced is never shown.
    """

    def __init__(self, index: MilvusIndex, scope: Scope | None = None) -> None:
        self._index = index
        self.settings = index.settings
        self._filter = scope_filter(scope)
        self._rows: dict[int, dict] = {}  # admitted chunk rows the searches and look-ups returned
        self._docs: dict[str, dict | None] = {}  # admitted document rows looked up (None: none such, or not admitted)

    @property
    def generation(self) -> int:
        return self._index.writes()

    def _within(self, expr: str) -> str:
        """``expr`` and the scope's filter."""
        return f"{expr} and {self._filter}" if self._filter else expr

    def stats(self) -> dict[str, int]:
        return {"documents": self._index.count("documents", self._filter),
                "chunks": self._index.count("chunks", self._filter), "generation": self._index.writes()}

    def _search(self, data: Any, field: str, metric: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The top ``k`` chunks of any version: one a write has not switched on yet (or has switched
        off) can be among them, and is dropped when its text is fetched (:meth:`chunks`)."""
        if k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        result = self._index._client.search(self._index.name("chunks"), data=[data], anns_field=field, limit=k,
                                            filter=self._filter, search_params={"metric_type": metric},
                                            output_fields=self._CHUNK_FIELDS)
        hits = list(result[0])
        for hit in hits:
            self._rows[int(hit["chunk_id"])] = hit["entity"]
        return (np.array([float(h["distance"]) for h in hits], dtype=np.float32),
                np.array([int(h["chunk_id"]) for h in hits], dtype=np.int64))

    def dense(self, query_vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self._search(np.asarray(query_vector, dtype=np.float32).ravel().tolist(), "dense", "IP", k)

    def lexical_search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        terms = lexical_text(query, query=True)
        if not terms:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        try:
            scores, ids = self._search(terms, "sparse", "BM25", k)
        except Exception as exc:  # noqa: BLE001 - pymilvus raises MilvusException, which we do not import here
            if "Invalid sparse row" not in str(exc):
                raise
            # Milvus 2.5's BM25 can compute NaN statistics for a segment while documents are being
            # deleted and replaced (seen under replicas writing and asking at once); that search fails
            # until compaction. Answer from the dense and sentence signals meanwhile, and say so.
            logger.warning("Milvus's BM25 search failed (%s); answering without the lexical signal",
                           str(exc).splitlines()[0][:200])
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        return np.abs(scores), ids  # milvus-lite reports BM25 negated; a server positive: the order is the same

    def _look_up(self, chunk_ids: list[int]) -> None:
        """Fetch the rows of chunks no search or look-up returned yet, through the scope's filter."""
        unseen = [c for c in chunk_ids if c not in self._rows]
        if unseen:
            self._keep(self._index.query_in("chunks", "chunk_id", unseen, self._CHUNK_FIELDS, extra=self._filter))

    def _keep(self, rows: list[dict]) -> None:
        self._rows.update((int(r["chunk_id"]), r) for r in rows)

    def sentences(self, chunk_ids: list[int]) -> SentenceVectors:
        """One primary-key lookup of each chunk's first piece (and another for the rare chunk with more);
        side by side, the documents of the chunks, which :meth:`chunks` will need. Only chunks the scope
        admits, of their document's current version, have sentences here (a chunk no search or look-up
        returned is looked up first: not the case when asking)."""
        wanted = sorted({int(c) for c in chunk_ids})
        self._look_up(wanted)
        wanted = [c for c in wanted if c in self._rows]
        doc_ids = {self._rows[c]["doc_id"] for c in wanted}
        documents = _side_by_side().submit(self._documents, doc_ids) if doc_ids - set(self._docs) else None
        rows = self._index.query_in("sentences", "key", [f"{c}.0" for c in wanted], ["key", "chunk_id", "pieces", "data"])
        if documents is not None:
            documents.result()
        rows = [r for r in rows if self._in_force(self._rows[int(r["chunk_id"])]) is not None]
        more = [f"{r['chunk_id']}.{n}" for r in rows for n in range(1, int(r["pieces"]))]
        rows += self._index.query_in("sentences", "key", more, ["key", "chunk_id", "pieces", "data"]) if more else []
        pieces: dict[int, list[tuple[int, str]]] = {}
        for r in rows:
            pieces.setdefault(int(r["chunk_id"]), []).append((int(r["key"].rsplit(".", 1)[1]), r["data"]))
        dimension = self.settings.dimension
        return {chunk_id: unpack_sentences([data for _, data in sorted(parts)], dimension)
                for chunk_id, parts in pieces.items()}

    def _documents(self, doc_ids: set[str]) -> None:
        """Look up the rows of these documents the scope admits (current version, title, source, meta),
        once per reader."""
        missing = sorted(set(doc_ids) - set(self._docs))
        if missing:
            found = {r["doc_id"]: r for r in self._index.query_in(
                "documents", "doc_id", missing, ["doc_id", "version", "title", "source", "meta"], extra=self._filter)}
            self._docs.update({d: found.get(d) for d in missing})  # None: no such document (deleted), or not admitted

    def _in_force(self, row: dict) -> dict | None:
        """The row of a chunk's document, looked up already, if the scope admits it and the chunk is of its
        current version (else the chunk is of a version being written or removed)."""
        doc = self._docs.get(row["doc_id"])
        return doc if doc is not None and int(doc["version"]) == int(row["version"]) else None

    def _stored(self, rows: list[dict]) -> list[StoredChunk]:
        self._documents({r["doc_id"] for r in rows})
        out = []
        for r in rows:
            doc = self._in_force(r)
            if doc is None:
                continue
            page_starts = json.loads(doc["meta"]).get("page_starts")
            out.append(StoredChunk(int(r["chunk_id"]), r["doc_id"], int(r["ordinal"]), int(r["char_start"]),
                                   int(r["char_end"]), r["text"], doc["title"], doc["source"],
                                   tuple(page_starts) if page_starts else None))
        return out

    _CHUNK_FIELDS = ["chunk_id", "doc_id", "version", "ordinal", "char_start", "char_end", "text"]

    def chunks(self, chunk_ids: list[int]) -> dict[int, StoredChunk]:
        wanted = [int(c) for c in chunk_ids]
        self._look_up(wanted)
        return {c.chunk_id: c for c in self._stored([self._rows[c] for c in wanted if c in self._rows])}

    def document_chunks(self, doc_id: str) -> list[StoredChunk]:
        rows = self._index.query("chunks", self._within(f"doc_id == {quote(doc_id)}"), self._CHUNK_FIELDS)
        self._keep(rows)
        return sorted(self._stored(rows), key=lambda c: c.ordinal)

    def document(self, doc_id: str) -> Document | None:
        rows = self._index.query("documents", self._within(f"doc_id == {quote(doc_id)}"),
                                 ["doc_id", "version", "title", "source", "meta", "groups"])
        if not rows:
            return None
        row = rows[0]
        pieces = self._index.query("texts", f"doc_id == {quote(doc_id)} and version == {int(row['version'])}",
                                   ["n", "text"])
        meta = json.loads(row["meta"])
        return Document(doc_id=doc_id, text="".join(p["text"] for p in sorted(pieces, key=lambda p: p["n"])),
                        source=row["source"], title=row["title"], metadata=shown_metadata(meta.get("metadata")),
                        page_starts=tuple(meta["page_starts"]) if meta.get("page_starts") else None,
                        excluded=tuple(Exclusion(*e) for e in meta.get("excluded") or ()), groups=tuple(row["groups"]))

    def documents(self, *, offset: int = 0, k: int | None = None) -> list[DocumentInfo]:
        rows = self._index.scan("documents", ["doc_id", "title", "source", "n_chars", "n_chunks", "content_hash",
                                              "meta", "added_at", "groups"], self._within('doc_id != ""'))
        rows.sort(key=lambda r: (r["added_at"], r["doc_id"]))
        end = None if k is None else offset + k
        out = []
        for r in rows[offset:end]:
            meta = json.loads(r["meta"])
            out.append(DocumentInfo(doc_id=r["doc_id"], title=r["title"], source=r["source"], n_chars=int(r["n_chars"]),
                                    n_chunks=int(r["n_chunks"]), content_hash=r["content_hash"],
                                    metadata=shown_metadata(meta.get("metadata")),
                                    pages=len(meta["page_starts"]) if meta.get("page_starts") else None,
                                    groups=tuple(r["groups"])))
        return out
