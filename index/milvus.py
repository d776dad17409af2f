"""The index on Milvus (a server, or milvus-lite's embedded file): the same contract as a local directory.

Collections, all prefixed with the index's name:

* ``_manifest``: the settings (the model and its weights hash, dimension, chunking…) and a write counter;
* ``_documents``: one row per document, with the **version** currently in force;
* ``_texts``: each document version's full text in pieces (a ``VARCHAR`` holds at most 65,535 bytes);
* ``_chunks``: chunk text, offsets, the dense vector and a BM25 sparse vector that Milvus computes
  itself from the title and text (a ``Function`` of type BM25; standard tokenizer, lowercase, English
  stemmer and stop words);
* ``_sentences``: each chunk's sentences with their offsets and vectors.

Milvus has no transaction across collections, so a write never changes what readers see until one
row switches: a document's chunks, sentences and text are written under a new version, then its
``_documents`` row is upserted to that version (the switch), then the old version's rows are deleted.
Reads drop any chunk whose version is not its document's current one when they fetch its text, so a
half-written document is never seen (a search can spend one of its ``k`` places on such a chunk); a crash leaves at most rows of versions no document points to, which ``check`` reports and
``repair`` deletes. Every collection reads with Strong consistency: a write through one process is
seen by the next read of any other.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import numpy as np

from index.check import CheckReport
from index.manifest import IndexSettings
from index.milvus_schema import MAX_VARCHAR, NO_VECTOR, create_collections, read_settings
from index.sentence_table import SentenceVectors
from index.store import StoredChunk
from rag.errors import IndexMismatchError, IndexStoreError
from rag.types import Chunk, Document, DocumentInfo, Exclusion

__all__ = ["MilvusIndex", "MilvusReader", "MilvusWriter"]

logger = logging.getLogger(__name__)

_PIECE_CHARS = 16_000  # 4 bytes per character at most: a piece always fits
_TEXT_CHARS = 15_000  # a chunk's text (at most a few thousand characters in practice)
_BATCH = 1_000  # ids per "in [...]" filter


def _quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _in(field: str, values: list[Any]) -> str:
    return f"{field} in {json.dumps(values, ensure_ascii=False)}"


def _connect(location: str) -> tuple[Any, str]:
    """A ``MilvusClient`` for the location, and the collections' name prefix."""
    from pymilvus import MilvusClient

    if location.startswith("milvus-lite:"):
        path = location.removeprefix("milvus-lite:")
        if not path.endswith(".db"):
            raise IndexStoreError(f"{location}: a milvus-lite index is a file whose name ends in .db")
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        try:
            return MilvusClient(path), "rag"
        except Exception as exc:  # pymilvus wraps milvus-lite's failure to take the file's lock
            if "lock" in str(exc).lower() or "open local milvus failed" in str(exc).lower():
                raise IndexStoreError(f"cannot open {location}: is it open in another process? milvus-lite lets one "
                                      "process at a time use its file (run a Milvus server for several)") from exc
            raise
    parsed = urllib.parse.urlparse(location)
    name = parsed.path.strip("/") or "rag"
    if not parsed.hostname or not name.replace("_", "").isalnum():
        raise IndexStoreError(f"{location}: expected milvus://HOST:PORT/NAME, NAME made of letters, digits and _")
    uri = f"http://{parsed.hostname}:{parsed.port or 19530}"
    return MilvusClient(uri=uri, token=os.environ.get("RAG_MILVUS_TOKEN", "")), name


class MilvusIndex:
    """An index in Milvus (see the module docstring). Safe to share between threads."""

    def __init__(self, client: Any, prefix: str, settings: IndexSettings, location: str) -> None:
        self._client = client
        self._prefix = prefix
        self.settings = settings
        self.location = location
        self._reader = MilvusReader(self)

    def name(self, collection: str) -> str:
        return f"{self._prefix}_{collection}"

    # ---- opening ----

    @classmethod
    def stored_settings(cls, location: str) -> IndexSettings | None:
        client, prefix = _connect(location)
        return read_settings(client, prefix)

    @classmethod
    def open(cls, location: str, settings: IndexSettings, *, create: bool = True) -> MilvusIndex:
        client, prefix = _connect(location)
        stored = read_settings(client, prefix)
        if stored is None:
            if not create:
                raise IndexStoreError(f"no index at {location} (run `rag --index {location} ingest PATH` to create one)")
            index = cls(client, prefix, settings, location)
            index._create()
            return index
        if (stored.model_name, stored.model_sha256, stored.dimension) != (
                settings.model_name, settings.model_sha256, settings.dimension):
            raise IndexMismatchError(
                f"the index at {location} was built with embedding model {stored.model_name!r} "
                f"(weights sha256 {stored.model_sha256[:12]}…, {stored.dimension}-d) but this pipeline uses "
                f"{settings.model_name!r} (sha256 {settings.model_sha256[:12]}…, {settings.dimension}-d). "
                "Use the same model, or rebuild the index under another name.")
        return cls(client, prefix, stored, location)

    def _create(self) -> None:
        create_collections(self._client, self._prefix, self.settings)

    # ---- the contract ----

    def snapshot(self) -> MilvusReader:
        return self._reader

    @contextlib.contextmanager
    def writer(self) -> Iterator[MilvusWriter]:
        writer = MilvusWriter(self)
        try:
            yield writer
        finally:
            writer._abort()

    def close(self) -> None:
        """Close the connection; for milvus-lite also stop this process's embedded server, which holds
        the file (one process at a time may open it)."""
        with contextlib.suppress(Exception):
            self._client.close()
        if self.location.startswith("milvus-lite:"):
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(self.location.removeprefix("milvus-lite:"))

    # ---- helpers for the reader and writer ----

    def query(self, collection: str, expr: str, fields: list[str], limit: int | None = None) -> list[dict]:
        kwargs = {"limit": limit} if limit is not None else {}
        return self._client.query(self.name(collection), filter=expr, output_fields=fields, **kwargs)

    def query_in(self, collection: str, field: str, values: list[Any], fields: list[str], extra: str = "") -> list[dict]:
        rows: list[dict] = []
        for i in range(0, len(values), _BATCH):
            expr = _in(field, values[i:i + _BATCH]) + (f" and {extra}" if extra else "")
            rows += self.query(collection, expr, fields)
        return rows

    def current_versions(self, doc_ids: list[str]) -> dict[str, int]:
        rows = self.query_in("documents", "doc_id", sorted(set(doc_ids)), ["doc_id", "version"])
        return {r["doc_id"]: int(r["version"]) for r in rows}

    def count(self, collection: str, expr: str = "") -> int:
        rows = self._client.query(self.name(collection), filter=expr, output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    def writes(self) -> int:
        rows = self.query("manifest", 'key == "writes"', ["value"])
        return int(rows[0]["value"]) if rows else 0

    # ---- checking ----

    def _orphans(self, current: dict[str, int] | None = None) -> dict[str, list]:
        """Rows of versions no document points to (a write cut short), per collection, by primary key;
        ``current``: each document's version in force, when the caller has read it already."""
        if current is None:
            current = {r["doc_id"]: int(r["version"])
                       for r in self.query("documents", 'doc_id != ""', ["doc_id", "version"])}
        found = {}
        for collection, key in (("chunks", "chunk_id"), ("sentences", "sentence_id"), ("texts", "piece_id")):
            rows = self.query(collection, 'doc_id != ""', [key, "doc_id", "version"])
            found[collection] = [r[key] for r in rows if current.get(r["doc_id"]) != int(r["version"])]
        return found

    def check(self) -> CheckReport:
        problems = []
        docs = {r["doc_id"]: r for r in self.query("documents", 'doc_id != ""', ["doc_id", "version", "n_chunks"])}
        for collection, keys in self._orphans({d: int(r["version"]) for d, r in docs.items()}).items():
            if keys:
                problems.append(f"{len(keys)} {collection} rows belong to no document's current version "
                                "(a write cut short); `rag check --repair` removes them")
        counts: dict[str, int] = {}
        for r in self.query("chunks", 'doc_id != ""', ["doc_id", "version"]):
            if r["doc_id"] in docs and int(docs[r["doc_id"]]["version"]) == int(r["version"]):
                counts[r["doc_id"]] = counts.get(r["doc_id"], 0) + 1
        short = [d for d, row in docs.items() if counts.get(d, 0) != int(row["n_chunks"])]
        if short:
            problems.append(f"{len(short)} documents do not hold the chunks their current version lists, "
                            f"e.g. {short[:3]}")
        return CheckReport(self.writes(), len(docs), sum(counts.values()), problems)

    def repair(self) -> CheckReport:
        for collection, keys in self._orphans().items():
            for i in range(0, len(keys), _BATCH):
                self._client.delete(self.name(collection), ids=keys[i:i + _BATCH])
        return self.check()


class MilvusReader:
    """Reads; every chunk returned belongs to its document's current version."""

    def __init__(self, index: MilvusIndex) -> None:
        self._index = index
        self.settings = index.settings

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
                                            search_params={"metric_type": metric})
        hits = list(result[0])
        return (np.array([float(h["distance"]) for h in hits], dtype=np.float32),
                np.array([int(h["chunk_id"]) for h in hits], dtype=np.int64))

    def dense(self, query_vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self._search(np.asarray(query_vector, dtype=np.float32).ravel().tolist(), "dense", "IP", k)

    def lexical_search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        if not query.strip():
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        scores, ids = self._search(query, "sparse", "BM25", k)
        return np.abs(scores), ids  # milvus-lite reports BM25 negated; a server positive: the order is the same

    def sentences(self, chunk_ids: list[int]) -> SentenceVectors:
        rows = self._index.query_in("sentences", "chunk_id", [int(c) for c in chunk_ids],
                                    ["sentence_id", "chunk_id", "char_start", "char_end", "vector"])
        grouped: dict[int, list[dict]] = {}
        for row in sorted(rows, key=lambda r: r["sentence_id"]):
            grouped.setdefault(int(row["chunk_id"]), []).append(row)
        return {chunk_id: ([(int(r["char_start"]), int(r["char_end"])) for r in group],
                           np.array([r["vector"] for r in group], dtype=np.float32))
                for chunk_id, group in grouped.items()}

    def _stored(self, rows: list[dict]) -> list[StoredChunk]:
        docs = {r["doc_id"]: r for r in self._index.query_in(
            "documents", "doc_id", sorted({r["doc_id"] for r in rows}), ["doc_id", "version", "title", "source", "meta"])}
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
        rows = self._index.query_in("chunks", "chunk_id", [int(c) for c in chunk_ids], self._CHUNK_FIELDS)
        return {c.chunk_id: c for c in self._stored(rows)}

    def document_chunks(self, doc_id: str) -> list[StoredChunk]:
        rows = self._index.query("chunks", f"doc_id == {_quote(doc_id)}", self._CHUNK_FIELDS)
        return sorted(self._stored(rows), key=lambda c: c.ordinal)

    def document(self, doc_id: str) -> Document | None:
        rows = self._index.query("documents", f"doc_id == {_quote(doc_id)}",
                                 ["doc_id", "version", "title", "source", "meta"])
        if not rows:
            return None
        row = rows[0]
        pieces = self._index.query("texts", f"doc_id == {_quote(doc_id)} and version == {int(row['version'])}",
                                   ["n", "text"])
        meta = json.loads(row["meta"])
        return Document(doc_id=doc_id, text="".join(p["text"] for p in sorted(pieces, key=lambda p: p["n"])),
                        source=row["source"], title=row["title"], metadata=meta.get("metadata") or {},
                        page_starts=tuple(meta["page_starts"]) if meta.get("page_starts") else None,
                        excluded=tuple(Exclusion(*e) for e in meta.get("excluded") or ()))

    def documents(self, *, offset: int = 0, k: int | None = None) -> list[DocumentInfo]:
        rows = self._index.query("documents", 'doc_id != ""', ["doc_id", "title", "source", "n_chars", "n_chunks",
                                                                "content_hash", "meta", "added_at"])
        rows.sort(key=lambda r: (r["added_at"], r["doc_id"]))
        end = None if k is None else offset + k
        out = []
        for r in rows[offset:end]:
            meta = json.loads(r["meta"])
            out.append(DocumentInfo(doc_id=r["doc_id"], title=r["title"], source=r["source"], n_chars=int(r["n_chars"]),
                                    n_chunks=int(r["n_chunks"]), content_hash=r["content_hash"],
                                    metadata=meta.get("metadata") or {},
                                    pages=len(meta["page_starts"]) if meta.get("page_starts") else None))
        return out


class MilvusWriter:
    """One write: new versions written aside, switched on at ``commit``, old versions removed after."""

    def __init__(self, index: MilvusIndex) -> None:
        self._index = index
        self._client = index._client
        self._switch: list[dict] = []  # documents rows to upsert at commit
        self._drop: list[str] = []  # documents to delete at commit
        self._written: list[tuple[str, int]] = []  # (doc_id, version) rows written, removed on abort
        self._done = False

    def content_hashes(self, doc_ids: list[str]) -> dict[str, str]:
        rows = self._index.query_in("documents", "doc_id", sorted(set(doc_ids)), ["doc_id", "content_hash"])
        return {r["doc_id"]: r["content_hash"] for r in rows}

    def _current_chunk_ids(self, doc_id: str) -> list[int] | None:
        versions = self._index.current_versions([doc_id])
        if doc_id not in versions:
            return None
        rows = self._index.query("chunks", f"doc_id == {_quote(doc_id)} and version == {versions[doc_id]}", ["chunk_id"])
        return sorted(int(r["chunk_id"]) for r in rows)

    def put(self, doc: Document, content_hash: str, chunks: list[Chunk], vectors: np.ndarray,
            sentences: list[list[tuple[int, int]]], sentence_vectors: list[np.ndarray]) -> list[int]:
        removed = self._current_chunk_ids(doc.doc_id) or []
        version = time.time_ns()
        self._written.append((doc.doc_id, version))
        name = self._index.name
        pieces = [doc.text[i:i + _PIECE_CHARS] for i in range(0, len(doc.text), _PIECE_CHARS)] or [""]
        self._client.insert(name("texts"), [{"piece_id": f"{doc.doc_id}\x1f{version}\x1f{n}", "doc_id": doc.doc_id,
                                             "version": version, "n": n, "text": piece, "v": NO_VECTOR}
                                            for n, piece in enumerate(pieces)])
        vectors = np.asarray(vectors, dtype=np.float32)
        title = doc.title[:2_000]
        rows = [{"doc_id": doc.doc_id, "version": version, "ordinal": c.ordinal, "char_start": c.char_start,
                 "char_end": c.char_end, "n_tokens": c.n_tokens, "text": c.text[:_TEXT_CHARS],
                 "body": f"{title}\n{c.text}"[:_TEXT_CHARS], "dense": v.tolist()} for c, v in zip(chunks, vectors, strict=True)]
        ids = [int(i) for i in self._client.insert(name("chunks"), rows)["ids"]] if rows else []
        sentence_rows = [{"chunk_id": chunk_id, "doc_id": doc.doc_id, "version": version, "char_start": a, "char_end": b,
                          "vector": np.asarray(v, dtype=np.float32).tolist()}
                         for chunk_id, spans, span_vectors in zip(ids, sentences, sentence_vectors, strict=True)
                         for (a, b), v in zip(spans, span_vectors, strict=True)]
        for i in range(0, len(sentence_rows), _BATCH):
            self._client.insert(name("sentences"), sentence_rows[i:i + _BATCH])
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
            self._client.delete(name("documents"), filter=_in("doc_id", self._drop))
        # Then what no document points to any more: the old versions, and the dropped documents' rows.
        current = {row["doc_id"]: row["version"] for row in self._switch}
        touched = sorted({*current, *self._drop})
        for collection, key in (("chunks", "chunk_id"), ("sentences", "sentence_id"), ("texts", "piece_id")):
            rows = self._index.query_in(collection, "doc_id", touched, [key, "doc_id", "version"])
            stale = [r[key] for r in rows if current.get(r["doc_id"]) != int(r["version"])]
            for i in range(0, len(stale), _BATCH):
                self._client.delete(name(collection), ids=stale[i:i + _BATCH])
        if self._switch or self._drop:
            self._client.upsert(name("manifest"), [{"key": "writes", "value": str(self._index.writes() + 1),
                                                    "v": NO_VECTOR}])
        self._done = True

    def _abort(self) -> None:
        if self._done:
            return
        self._done = True
        for doc_id, version in self._written:  # never switched on: remove them (a crash leaves them to repair)
            for collection in ("chunks", "sentences", "texts"):
                with contextlib.suppress(Exception):
                    self._client.delete(self._index.name(collection),
                                        filter=f"doc_id == {_quote(doc_id)} and version == {version}")
