"""The index on Milvus (a server, or milvus-lite's embedded file): the same contract as a local directory.

Collections, all prefixed with the index's name:

* ``_manifest``: the settings (the model and its weights hash, dimension, chunking…) and a write counter;
* ``_documents``: one row per document, with the **version** currently in force;
* ``_texts``: each document version's full text in pieces (a ``VARCHAR`` holds at most 65,535 bytes);
* ``_chunks``: chunk text, offsets, the dense vector and a BM25 sparse vector that Milvus computes
  itself (a ``Function`` of type BM25, with the index's k1 and b) from the title and text as stemmed
  terms (:func:`index.lexical.lexical_text`; questions are asked the same way);
* ``_sentences``: each chunk's sentences, offsets and vectors packed into text (:mod:`index.sentence_pack`),
  keyed by chunk id: one primary-key lookup per question, and no sentence vectors held in memory;
* ``_keys``: the API keys, each with a digest of its token (never the token).

``_documents`` and ``_chunks`` rows carry their document's groups and filterable labels
(:mod:`index.milvus_filters`): a reader's scope is a filter inside every search and look-up.

Milvus has no transaction across collections, so a write never changes what readers see until one
row switches: a document's chunks, sentences and text are written under a new version, then its
``_documents`` row is upserted to that version (the switch), then the old version's rows are deleted.
Reads drop any chunk whose version is not its document's current one when they fetch its text, so a
half-written document is never seen (a search can spend one of its ``k`` places on such a chunk); a
crash leaves at most rows of versions no document points to, which ``check`` reports and ``repair``
deletes. New groups or metadata take the same way: a new version of copied rows with the new labels
(:meth:`MilvusWriter.relabel <index.milvus_writer.MilvusWriter.relabel>`), so no reader ever sees a
document's chunks labelled one way and its row the other. Every collection reads with Strong
consistency: a write through one process is seen by the next read of any other.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any

from domain.access import Scope
from domain.errors import IndexMismatchError, IndexStoreError
from domain.feedback import Feedback
from domain.keys import ApiKey
from index.check import CheckReport
from index.manifest import IndexSettings
from index.milvus_filters import literal
from index.milvus_schema import (BATCH, MAX_VARCHAR, NO_VECTOR, PRIMARY_KEYS, create_collections, in_filter,
                                 read_settings)
from index.milvus_reader import MilvusReader
from index.milvus_writer import MilvusWriter

__all__ = ["MilvusIndex", "MilvusReader", "MilvusFeedback", "MilvusKeys", "ORPHAN_GRACE_S", "milvus_client"]

ORPHAN_GRACE_S = 600.0  # no write runs this long between writing its rows and switching them on
_SCAN_BATCH = 5_000

logger = logging.getLogger(__name__)


def _no_session_ts(record: logging.LogRecord) -> bool:
    """milvus-lite (3.x, and 2.5's server) has no session timestamp for query iterators; pymilvus falls
    back to its own clock (every read here is Strong anyway) and warns on every scan: not worth a line
    in the user's log."""
    return "mvccTs" not in record.getMessage()


def _connect(location: str) -> tuple[Any, str]:
    """A ``MilvusClient`` for the location, and the collections' name prefix."""
    from pymilvus import MilvusClient

    iterator_log = logging.getLogger("pymilvus.client.iterator.query_iterator")
    if _no_session_ts not in iterator_log.filters:
        iterator_log.addFilter(_no_session_ts)
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
    return milvus_client(f"http://{parsed.hostname}:{parsed.port or 19530}"), name


def milvus_client(uri: str, **options: Any) -> Any:
    """A ``MilvusClient`` for a server, with ``RAG_MILVUS_TOKEN`` and this project's keep-alive settings.

    pymilvus shares one channel per address and token in a process, set up by whichever client came
    first: every client of a server in a process should come from here, or its settings may not hold.
    """
    from pymilvus import MilvusClient

    return MilvusClient(uri=uri, token=os.environ.get("RAG_MILVUS_TOKEN", ""), grpc_options=_GRPC_OPTIONS, **options)


# pymilvus's default keep-alive pings every 10 s, even with no call in flight; gRPC servers allow a
# ping every 5 minutes by default and answer more with GOAWAY "too many pings". In the 60-s
# replicas-under-load run against milvus-lite 2.5.1's server, a client reconnecting over a channel set
# up with those defaults failed that way; with these settings (no more often than servers allow, and
# not when idle) it did not. What exactly tripped the server was not pinned down.
_GRPC_OPTIONS = {"grpc.keepalive_time_ms": 300_000, "grpc.keepalive_permit_without_calls": False}


class MilvusIndex:
    """An index in Milvus (see the module docstring). Safe to share between threads."""

    def __init__(self, client: Any, prefix: str, settings: IndexSettings, location: str) -> None:
        self._client = client
        self._prefix = prefix
        self.settings = settings
        self.location = location
        self.embedded = location.startswith("milvus-lite:")
        # repair leaves rows of writes younger than this: another replica may be about to switch them on
        self.orphan_grace_s = ORPHAN_GRACE_S

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

    def snapshot(self, scope: Scope | None = None) -> MilvusReader:
        # A reader per snapshot (one question): it keeps what its searches returned for that question only.
        return MilvusReader(self, scope)

    def keys(self) -> MilvusKeys:
        return MilvusKeys(self)

    def feedback(self) -> MilvusFeedback:
        return MilvusFeedback(self)

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
        if self.embedded:
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(self.location.removeprefix("milvus-lite:"))

    # ---- helpers for the reader and writer ----

    def query(self, collection: str, expr: str, fields: list[str], limit: int | None = None) -> list[dict]:
        kwargs = {"limit": limit} if limit is not None else {}
        return self._client.query(self.name(collection), filter=expr, output_fields=fields, **kwargs)

    def query_in(self, collection: str, field: str, values: list[Any], fields: list[str], extra: str = "") -> list[dict]:
        rows: list[dict] = []
        for i in range(0, len(values), BATCH):
            expr = in_filter(field, values[i:i + BATCH]) + (f" and {extra}" if extra else "")
            rows += self.query(collection, expr, fields)
        return rows

    def count(self, collection: str, expr: str = "") -> int:
        rows = self._client.query(self.name(collection), filter=expr, output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    def writes(self) -> int:
        rows = self.query("manifest", 'key == "writes"', ["value"])
        return int(rows[0]["value"]) if rows else 0

    # ---- checking ----

    def scan(self, collection: str, fields: list[str], expr: str = 'doc_id != ""') -> list[dict]:
        """Every matching row, read in batches (a server answers one query with at most 16,384 rows)."""
        iterator = self._client.query_iterator(self.name(collection), batch_size=_SCAN_BATCH, filter=expr,
                                               output_fields=fields)
        rows: list[dict] = []
        try:
            while batch := iterator.next():
                rows += batch
        finally:
            iterator.close()
        return rows

    def _orphans(self, current: dict[str, int] | None = None, *, older_than_s: float = 0.0) -> dict[str, list]:
        """Rows of versions no document points to (a write in progress, or cut short), per collection, by
        primary key; only those written more than ``older_than_s`` ago. ``current``: each document's
        version in force, when the caller has read it already."""
        if current is None:
            current = {r["doc_id"]: int(r["version"]) for r in self.scan("documents", ["doc_id", "version"])}
        before = time.time_ns() - int(older_than_s * 1e9)  # a version is the time it was written
        found = {}
        for collection, key in PRIMARY_KEYS:
            rows = self.scan(collection, [key, "doc_id", "version"])
            found[collection] = [r[key] for r in rows
                                 if current.get(r["doc_id"]) != int(r["version"]) and int(r["version"]) < before]
        return found

    def check(self) -> CheckReport:
        problems = []
        docs = {r["doc_id"]: r for r in self.scan("documents", ["doc_id", "version", "n_chunks"])}
        for collection, keys in self._orphans({d: int(r["version"]) for d, r in docs.items()}).items():
            if keys:
                problems.append(f"{len(keys)} {collection} rows belong to no document's current version (a write "
                                "in progress, or cut short); `rag check --repair` removes those older than "
                                f"{self.orphan_grace_s:g} s")
        counts: dict[str, int] = {}
        for r in self.scan("chunks", ["doc_id", "version"]):
            if r["doc_id"] in docs and int(docs[r["doc_id"]]["version"]) == int(r["version"]):
                counts[r["doc_id"]] = counts.get(r["doc_id"], 0) + 1
        short = [d for d, row in docs.items() if counts.get(d, 0) != int(row["n_chunks"])]
        if short:
            problems.append(f"{len(short)} documents do not hold the chunks their current version lists, "
                            f"e.g. {short[:3]}")
        return CheckReport(self.writes(), len(docs), sum(counts.values()), problems)

    def repair(self) -> CheckReport:
        """Delete orphan rows older than :attr:`orphan_grace_s` (younger ones may be a write in progress
        in another process, which has not switched its document on yet)."""
        for collection, keys in self._orphans(older_than_s=self.orphan_grace_s).items():
            for i in range(0, len(keys), BATCH):
                self._client.delete(self.name(collection), ids=keys[i:i + BATCH])
        return self.check()


class MilvusKeys:
    """The index's API keys (:class:`index.backend.KeyStore`), in its ``_keys`` collection, which every
    replica shares. Milvus does not refuse a second row with a key's name: two replicas adding one name
    at the same instant can both succeed (revoking the name removes both)."""

    _FIELDS = ["name", "groups", "write", "created_at"]

    def __init__(self, index: MilvusIndex) -> None:
        self._index = index

    @staticmethod
    def _key(row: dict) -> ApiKey:
        return ApiKey(row["name"], tuple(json.loads(row["groups"])), bool(row["write"]), float(row["created_at"]))

    def _exists(self, name: str) -> bool:
        return bool(self._index.query("keys", f"name == {literal(name)}", ["name"], limit=1))

    def add(self, key: ApiKey, digest: str) -> None:
        if self._exists(key.name):
            raise ValueError(f"a key named {key.name!r} exists already (revoke it first)")
        self._index._client.insert(self._index.name("keys"), [{
            "name": key.name, "digest": digest, "groups": json.dumps(list(key.groups)), "write": key.write,
            "created_at": key.created_at, "v": NO_VECTOR}])

    def list(self) -> list[ApiKey]:
        return sorted((self._key(r) for r in self._index.scan("keys", self._FIELDS, 'name != ""')),
                      key=lambda key: key.name)

    def revoke(self, name: str) -> bool:
        if not self._exists(name):
            return False
        self._index._client.delete(self._index.name("keys"), ids=[name])
        return True

    def find(self, digest: str) -> ApiKey | None:
        rows = self._index.query("keys", f"digest == {literal(digest)}", self._FIELDS, limit=1)
        return self._key(rows[0]) if rows else None


class MilvusFeedback:
    """People's feedback on answers (:class:`index.backend.FeedbackStore`), in the ``_feedback`` collection."""

    def __init__(self, index: MilvusIndex) -> None:
        self._index = index

    def add(self, item: Feedback) -> str:
        item = dataclasses.replace(item, id=item.id or f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}")
        data = json.dumps(item.to_dict(), ensure_ascii=False)
        if len(data.encode()) > MAX_VARCHAR:
            raise IndexStoreError("this feedback takes more than 64 kB to store")
        self._index._client.insert(self._index.name("feedback"), [
            {"id": item.id, "created_at": item.created_at, "data": data, "v": NO_VECTOR}])
        return item.id

    def list(self, since: float | None = None) -> list[Feedback]:
        expr = f"created_at >= {float(since)!r}" if since is not None else 'id != ""'
        rows = self._index.scan("feedback", ["id", "created_at", "data"], expr)
        return [Feedback.from_dict(json.loads(r["data"])) for r in sorted(rows, key=lambda r: (r["created_at"], r["id"]))]

