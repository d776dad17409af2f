"""Reads of a Milvus index (:class:`MilvusReader`), one per question: what its searches return is kept,
so that a question costs two rounds of calls to the server."""
from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from domain.limits import shown_metadata
from domain.types import Document, DocumentInfo, Exclusion
from index.lexical import lexical_text
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
    """Reads; every chunk returned belongs to its document's current version.

    One question costs two rounds of calls, each run side by side: the dense and BM25 searches (which
    return the pooled chunks' rows with their ids), then the pool's packed sentences and its documents
    (titles and current versions). The chunks' text then needs no further call: a reader keeps what its
    searches and look-ups returned, so make one per question (:meth:`MilvusIndex.snapshot` does).
    """

    def __init__(self, index: MilvusIndex) -> None:
        self._index = index
        self.settings = index.settings
        self._rows: dict[int, dict] = {}  # chunk rows the searches returned
        self._docs: dict[str, dict] = {}  # document rows looked up

    @property
    def generation(self) -> int:
        return self._index.writes()

    def stats(self) -> dict[str, int]:
        return {"documents": self._index.count("documents"), "chunks": self._index.count("chunks"),
                "generation": self._index.writes()}

    def _search(self, data: Any, field: str, metric: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The top ``k`` chunks of any version: one a write has not switched on yet (or has switched
        off) can be among them, and is dropped when its text is fetched (:meth:`chunks`)."""
        if k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        result = self._index._client.search(self._index.name("chunks"), data=[data], anns_field=field, limit=k,
                                            search_params={"metric_type": metric}, output_fields=self._CHUNK_FIELDS)
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

    def sentences(self, chunk_ids: list[int]) -> SentenceVectors:
        """One primary-key lookup of each chunk's first piece (and another for the rare chunk with more);
        side by side, the documents of the chunks the searches found, which :meth:`chunks` will need."""
        wanted = sorted({int(c) for c in chunk_ids})
        doc_ids = {self._rows[c]["doc_id"] for c in wanted if c in self._rows}
        documents = _side_by_side().submit(self._documents, doc_ids) if doc_ids - set(self._docs) else None
        rows = self._index.query_in("sentences", "key", [f"{c}.0" for c in wanted], ["key", "chunk_id", "pieces", "data"])
        if documents is not None:
            documents.result()
        more = [f"{r['chunk_id']}.{n}" for r in rows for n in range(1, int(r["pieces"]))]
        rows += self._index.query_in("sentences", "key", more, ["key", "chunk_id", "pieces", "data"]) if more else []
        pieces: dict[int, list[tuple[int, str]]] = {}
        for r in rows:
            pieces.setdefault(int(r["chunk_id"]), []).append((int(r["key"].rsplit(".", 1)[1]), r["data"]))
        dimension = self.settings.dimension
        return {chunk_id: unpack_sentences([data for _, data in sorted(parts)], dimension)
                for chunk_id, parts in pieces.items()}

    def _documents(self, doc_ids: set[str]) -> dict[str, dict]:
        """The rows of these documents (current version, title, source, meta), looked up once per reader."""
        missing = sorted(set(doc_ids) - set(self._docs))
        if missing:
            found = {r["doc_id"]: r for r in self._index.query_in(
                "documents", "doc_id", missing, ["doc_id", "version", "title", "source", "meta"])}
            self._docs.update({d: found.get(d) for d in missing})  # None: no such document (deleted)
        return {d: self._docs[d] for d in doc_ids}

    def _stored(self, rows: list[dict]) -> list[StoredChunk]:
        docs = self._documents({r["doc_id"] for r in rows})
        out = []
        for r in rows:
            doc = docs.get(r["doc_id"])
            if doc is None or int(doc["version"]) != int(r["version"]):
                continue  # a version being written or removed
            page_starts = json.loads(doc["meta"]).get("page_starts")
            out.append(StoredChunk(int(r["chunk_id"]), r["doc_id"], int(r["ordinal"]), int(r["char_start"]),
                                   int(r["char_end"]), r["text"], doc["title"], doc["source"],
                                   tuple(page_starts) if page_starts else None))
        return out

    _CHUNK_FIELDS = ["chunk_id", "doc_id", "version", "ordinal", "char_start", "char_end", "text"]

    def chunks(self, chunk_ids: list[int]) -> dict[int, StoredChunk]:
        wanted = [int(c) for c in chunk_ids]
        rows = [self._rows[c] for c in wanted if c in self._rows]
        unseen = [c for c in wanted if c not in self._rows]
        if unseen:
            rows += self._index.query_in("chunks", "chunk_id", unseen, self._CHUNK_FIELDS)
        return {c.chunk_id: c for c in self._stored(rows)}

    def document_chunks(self, doc_id: str) -> list[StoredChunk]:
        rows = self._index.query("chunks", f"doc_id == {quote(doc_id)}", self._CHUNK_FIELDS)
        return sorted(self._stored(rows), key=lambda c: c.ordinal)

    def document(self, doc_id: str) -> Document | None:
        rows = self._index.query("documents", f"doc_id == {quote(doc_id)}",
                                 ["doc_id", "version", "title", "source", "meta"])
        if not rows:
            return None
        row = rows[0]
        pieces = self._index.query("texts", f"doc_id == {quote(doc_id)} and version == {int(row['version'])}",
                                   ["n", "text"])
        meta = json.loads(row["meta"])
        return Document(doc_id=doc_id, text="".join(p["text"] for p in sorted(pieces, key=lambda p: p["n"])),
                        source=row["source"], title=row["title"], metadata=shown_metadata(meta.get("metadata")),
                        page_starts=tuple(meta["page_starts"]) if meta.get("page_starts") else None,
                        excluded=tuple(Exclusion(*e) for e in meta.get("excluded") or ()))

    def documents(self, *, offset: int = 0, k: int | None = None) -> list[DocumentInfo]:
        rows = self._index.scan("documents", ["doc_id", "title", "source", "n_chars", "n_chunks", "content_hash", "meta",
                                              "added_at"])
        rows.sort(key=lambda r: (r["added_at"], r["doc_id"]))
        end = None if k is None else offset + k
        out = []
        for r in rows[offset:end]:
            meta = json.loads(r["meta"])
            out.append(DocumentInfo(doc_id=r["doc_id"], title=r["title"], source=r["source"], n_chars=int(r["n_chars"]),
                                    n_chunks=int(r["n_chunks"]), content_hash=r["content_hash"],
                                    metadata=shown_metadata(meta.get("metadata")),
                                    pages=len(meta["page_starts"]) if meta.get("page_starts") else None))
        return out
