"""Reads of the local index within a scope (:class:`ScopedSnapshot`)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from domain.access import Scope
from domain.types import Document, DocumentInfo
from index.sentence_table import SentenceVectors
from index.store import StoredChunk

if TYPE_CHECKING:
    from index.directory import Snapshot

__all__ = ["ScopedSnapshot"]


class ScopedSnapshot:
    """A :class:`Snapshot`'s reads within a scope: searches score only admitted chunks (FAISS with an id
    selector, the lexical index with a mask of the admitted chunks), and nothing outside the scope is returned,
    counted or shown. Made per question: it finds the admitted chunks once, on first use.

    ``search_all``: the scope admitted every document when the snapshot was made (its groups were all
    the index's), so searches need no filter; a document written meanwhile in another group may then
    take one of a search's places, but :meth:`chunks` checks each chunk's groups as it reads them, so
    none is ever returned.
    """

    def __init__(self, snapshot: Snapshot, scope: Scope, *, search_all: bool = False) -> None:
        self._snapshot = snapshot
        self._store = snapshot.store
        self.scope = scope
        self.settings = snapshot.settings
        self._search_all = search_all and not scope.where
        self._admitted: np.ndarray | None = None

    @property
    def generation(self) -> int:
        return self._snapshot.generation

    def _ids(self) -> np.ndarray:
        if self._admitted is None:
            self._admitted = self._store.admitted_chunk_ids(self.scope)
        return self._admitted

    def _keep(self, chunk_ids: list[int]) -> list[int]:
        return [int(i) for i in np.asarray(chunk_ids, dtype=np.int64)[np.isin(chunk_ids, self._ids())]]

    def stats(self) -> dict[str, int]:
        documents, chunks = self._store.count_admitted(self.scope)
        return {"documents": documents, "chunks": chunks, "generation": self._store.seq()}

    def dense(self, query_vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self._search_all:
            return self._snapshot.dense(query_vector, k)
        return self._snapshot._live.search(query_vector, k, self._ids())

    def lexical_search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self._search_all:
            return self._snapshot.lexical_search(query, k)
        return self._snapshot._lexical.search(query, k, self._ids())

    def sentences(self, chunk_ids: list[int]) -> SentenceVectors:
        if self._search_all:  # offsets and vectors only: the text comes through chunks(), which checks
            return self._snapshot.sentences(chunk_ids)
        return self._snapshot.sentences(self._keep(chunk_ids))

    def chunks(self, chunk_ids: list[int]) -> dict[int, StoredChunk]:
        if not self._search_all:
            return self._store.chunks(self._keep(chunk_ids))
        found = self._store.chunks(chunk_ids)
        groups = self._store.groups_of({chunk.doc_id for chunk in found.values()})
        return {i: chunk for i, chunk in found.items() if self.scope.sees_groups(groups.get(chunk.doc_id, ()))}

    def document(self, doc_id: str) -> Document | None:
        return self._store.document(doc_id, self.scope)

    def document_chunks(self, doc_id: str) -> list[StoredChunk]:
        return self._store.document_chunks(doc_id, self.scope)

    def documents(self, *, offset: int = 0, k: int | None = None) -> list[DocumentInfo]:
        return self._store.documents(offset=offset, k=k, scope=self.scope)
