"""The vector-store interface and its FAISS implementation.

Everything FAISS-specific lives here, so another engine (a distributed one such as Milvus) plugs
in behind :class:`VectorIndex` without touching the rest.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Literal

import faiss
import numpy as np

__all__ = ["VectorIndex", "FaissIndex", "VectorIndexKind", "create_vector_index", "load_vector_index"]

VectorIndexKind = Literal["flat"]


class VectorIndex(ABC):
    """Inner-product search over vectors keyed by int64 chunk ids."""

    kind: str

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    @abstractmethod
    def delete(self, ids: np.ndarray) -> None: ...

    @abstractmethod
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, ids) per query row, best first; ids of -1 mark empty slots."""

    @abstractmethod
    def ids(self) -> np.ndarray:
        """Every id held, in no particular order."""

    @abstractmethod
    def copy(self) -> VectorIndex: ...

    @abstractmethod
    def save(self, path: Path) -> None: ...


class FaissIndex(VectorIndex):
    """Exact inner-product search (``IndexFlatIP`` under an id map)."""

    kind = "flat"

    def __init__(self, dimension: int, *, _index: faiss.Index | None = None) -> None:
        self.dimension = dimension
        self._index = _index if _index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape != (len(ids), self.dimension):
            raise ValueError(f"expected {len(ids)} vectors of dimension {self.dimension}, got {vectors.shape}")
        self._index.add_with_ids(vectors, np.ascontiguousarray(ids, dtype=np.int64))

    def delete(self, ids: np.ndarray) -> None:
        if len(ids):
            self._index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if len(self) == 0 or k <= 0:
            empty = np.zeros((len(queries), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        return self._index.search(queries, min(k, len(self)))

    def ids(self) -> np.ndarray:
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def copy(self) -> FaissIndex:
        return FaissIndex(self.dimension, _index=faiss.clone_index(self._index))

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> FaissIndex:
        index = faiss.read_index(str(path))
        return cls(index.d, _index=index)


def create_vector_index(kind: VectorIndexKind, dimension: int) -> VectorIndex:
    """A new, empty vector index of the given kind."""
    if kind == "flat":
        return FaissIndex(dimension)
    raise ValueError(f"unknown vector index kind {kind!r}")


def load_vector_index(kind: VectorIndexKind, path: Path) -> VectorIndex:
    if kind == "flat":
        return FaissIndex.load(path)
    raise ValueError(f"unknown vector index kind {kind!r}")
