"""The storage contract everything above ``index/`` uses, and the factory that picks an engine.

Two engines implement it: the local directory (:mod:`index.directory`: SQLite, FAISS, BM25 in memory) and
Milvus (:mod:`index.milvus`, a server or milvus-lite's embedded file). ``open_index`` reads a
location string:

* ``milvus-lite:PATH``: Milvus embedded in the file ``PATH`` (pip ``milvus-lite``);
* ``milvus://HOST:PORT/NAME``: collections named ``NAME_*`` on a Milvus server
  (``RAG_MILVUS_TOKEN`` holds ``user:password`` or an API key, if the server wants one);
* anything else: a local index directory.

A third engine is one module implementing :class:`IndexBackend` and one line in ``_ENGINES``.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

import numpy as np

from domain.access import Scope
from domain.feedback import Feedback
from domain.keys import ApiKey
from domain.types import Chunk, Document, DocumentInfo
from index.check import CheckReport
from index.manifest import IndexSettings
from index.sentence_table import SentenceVectors
from index.store import StoredChunk

__all__ = ["IndexReader", "IndexWriter", "IndexBackend", "KeyStore", "FeedbackStore", "open_index", "stored_settings", "is_milvus"]


class IndexReader(Protocol):
    """Reads of an index as of its last committed write, within the reader's :class:`~domain.access.Scope`.

    Every read keeps to the scope: searches return only chunks of documents it admits (filtered
    inside the search, so ``k`` results come back while ``k`` admitted chunks exist), ``document`` and
    ``document_chunks`` answer as for an unknown id outside it, and ``stats`` and ``documents`` count
    and list only what it admits.
    """

    settings: IndexSettings

    @property
    def generation(self) -> int: ...

    def stats(self) -> dict[str, int]: ...

    def dense(self, query_vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...

    def lexical_search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]: ...

    def sentences(self, chunk_ids: list[int]) -> SentenceVectors: ...

    def chunks(self, chunk_ids: list[int]) -> dict[int, StoredChunk]: ...

    def document(self, doc_id: str) -> Document | None: ...

    def document_chunks(self, doc_id: str) -> list[StoredChunk]: ...

    def documents(self, *, offset: int = 0, k: int | None = None) -> list[DocumentInfo]: ...


class IndexWriter(Protocol):
    """One write; nothing is visible to readers before ``commit``."""

    def content_hashes(self, doc_ids: list[str]) -> dict[str, str]: ...

    def stored_groups(self, doc_ids: list[str]) -> dict[str, tuple[str, ...]]:
        """The groups of those of ``doc_ids`` the index holds."""

    def relabel(self, doc: Document, content_hash: str) -> None:
        """Give a stored document ``doc``'s groups and metadata (its text, title and exclusions are the
        stored ones): nothing is embedded again."""

    def put(self, doc: Document, content_hash: str, chunks: list[Chunk], vectors: np.ndarray,
            sentences: list[list[tuple[int, int]]], sentence_vectors: list[np.ndarray]) -> list[int]: ...

    def delete(self, doc_id: str) -> list[int] | None: ...

    def commit(self) -> None: ...


class KeyStore(Protocol):
    """The API keys of an index, stored with it (every replica of the index shares them): names, groups,
    rights and a digest of each token (:func:`domain.keys.token_digest`), never the token."""

    def add(self, key: ApiKey, digest: str) -> None:
        """Store a key. Raises ``ValueError`` if a key of that name exists."""

    def list(self) -> list[ApiKey]: ...

    def revoke(self, name: str) -> bool:
        """Remove a key; False if there was none of that name."""

    def find(self, digest: str) -> ApiKey | None: ...


class FeedbackStore(Protocol):
    """People's feedback on answers (:mod:`domain.feedback`), stored durably with the index."""

    def add(self, item: Feedback) -> str:
        """Store it; returns its id."""

    def list(self, since: float | None = None) -> list[Feedback]:
        """Everything given at or after ``since`` (seconds since 1970; None: all), oldest first."""


class IndexBackend(Protocol):
    """An opened index: readers, one writer at a time, its keys, and its own check and repair."""

    settings: IndexSettings

    def snapshot(self, scope: Scope | None = None) -> IndexReader:
        """A reader of the last committed write; ``scope`` (default: everything) limits what it sees."""

    def keys(self) -> KeyStore: ...

    def feedback(self) -> FeedbackStore: ...

    def writer(self) -> AbstractContextManager[IndexWriter]: ...

    def check(self) -> CheckReport: ...

    def repair(self) -> CheckReport: ...

    def close(self) -> None: ...


def is_milvus(location: str | os.PathLike[str]) -> bool:
    return str(location).startswith(("milvus-lite:", "milvus://"))


def _local(location: str, settings: IndexSettings | None, create: bool):
    from index.directory import IndexDirectory

    if settings is None:
        return IndexDirectory.stored_settings(location)
    return IndexDirectory.open(location, settings, create=create)


def _milvus(location: str, settings: IndexSettings | None, create: bool):
    from index.milvus import MilvusIndex

    if settings is None:
        return MilvusIndex.stored_settings(location)
    return MilvusIndex.open(location, settings, create=create)


# (does this engine serve the location, how to open it / read its settings)
_ENGINES: list[tuple[Callable[[str], bool], Callable]] = [
    (is_milvus, _milvus),
    (lambda location: True, _local),
]


def _engine(location: str | os.PathLike[str]) -> Callable:
    text = os.fspath(location)
    return next(open_ for serves, open_ in _ENGINES if serves(text))


def open_index(location: str | os.PathLike[str], settings: IndexSettings, *, create: bool = True) -> IndexBackend:
    """Open the index at ``location`` (see the module docstring), creating it if allowed.

    Raises:
        IndexMismatchError: the index was built with other settings.
        IndexStoreError: there is no index and ``create`` is false.
    """
    return _engine(location)(os.fspath(location) if is_milvus(location) else Path(location), settings, create)


def stored_settings(location: str | os.PathLike[str]) -> IndexSettings | None:
    """What the index at ``location`` was built with, or None if there is none yet."""
    return _engine(location)(os.fspath(location) if is_milvus(location) else Path(location), None, False)
