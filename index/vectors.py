"""The vector-store interface and its FAISS implementations.

Everything FAISS-specific lives here, so another engine (a distributed one such as Milvus) plugs
in behind :class:`VectorIndex` without touching the rest. Two kinds, picked by name through
:func:`create_vector_index`:

- ``"flat"`` (:class:`FaissIndex`): exact search, 4 bytes per dimension per vector. The default;
  right up to a few hundred thousand vectors.
- ``"ivf-sq8"`` (:class:`IvfSq8Index`): an inverted file over k-means cells with 8-bit scalar
  quantized vectors, 1 byte per dimension: about a quarter of the memory and a few percent of
  the work per query, at a recall@10 a little under 1. Exact (flat) until it holds enough vectors
  to train on, so a small collection loses nothing.
- ``"auto"`` (the default): flat, until :mod:`index.vector_switch` moves it to IVF-SQ8 past a
  measured size, checking recall at the move.
"""
from __future__ import annotations

import contextlib
import logging
import math
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path

import faiss
import numpy as np

from domain.modes import VECTOR_INDEX_KINDS, VectorIndexKind

__all__ = ["VectorIndex", "FaissIndex", "IvfSq8Index", "VectorIndexKind", "VECTOR_INDEX_KINDS",
           "create_vector_index", "load_vector_index"]

logger = logging.getLogger(__name__)


# Searches here are one question at a time, with concurrency coming from the server's threads.
# OpenMP's threads then only wait on each other: on a busy 2-core machine a 10k-vector flat search
# measured 21 ms with 2 threads and 2 ms with 1, and their spinning slows the rest of the request.
# OpenMP keeps this setting per thread, and a thread that never set it gets every core, so each
# search sets it in the thread that runs it (the server answers in a pool of worker threads).
# Bulk work (training, adding) asks for all cores.
def _one_thread() -> None:
    if faiss.omp_get_max_threads() != 1:
        faiss.omp_set_num_threads(1)


@contextlib.contextmanager
def _all_cores() -> Iterator[None]:
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(1)


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
    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, ids) per query row, best first, among the ids in ``allowed`` (default:
        all; only those are scored); ids of -1 mark empty slots."""

    @abstractmethod
    def ids(self) -> np.ndarray:
        """Every id held, in no particular order."""

    @abstractmethod
    def save(self, path: Path) -> None: ...


def _as_matrix(vectors: np.ndarray, n: int, dimension: int) -> np.ndarray:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.shape != (n, dimension):
        raise ValueError(f"expected {n} vectors of dimension {dimension}, got {vectors.shape}")
    return vectors


def _only(allowed: np.ndarray) -> faiss.SearchParameters:
    """Search parameters that score only the vectors whose ids are in ``allowed`` (a hash set of them)."""
    return faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64)))


def _empty_result(n_queries: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((n_queries, 0), dtype=np.float32), np.zeros((n_queries, 0), dtype=np.int64)


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
        vectors = _as_matrix(vectors, len(ids), self.dimension)
        self._index.add_with_ids(vectors, np.ascontiguousarray(ids, dtype=np.int64))

    def delete(self, ids: np.ndarray) -> None:
        if len(ids):
            self._index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64))

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if len(self) == 0 or k <= 0 or (allowed is not None and len(allowed) == 0):
            return _empty_result(len(queries))
        _one_thread()
        if allowed is None:
            return self._index.search(queries, min(k, len(self)))
        return self._index.search(queries, min(k, len(self), len(allowed)), params=_only(allowed))

    def ids(self) -> np.ndarray:
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """Every (id, vector) held, in insertion order."""
        flat = faiss.downcast_index(self._index.index)
        return self.ids(), flat.reconstruct_n(0, len(self)) if len(self) else np.zeros((0, self.dimension), np.float32)

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> FaissIndex:
        index = faiss.read_index(str(path))
        return cls(index.d, _index=index)


class IvfSq8Index(VectorIndex):
    """Approximate inner-product search: IVF cells over 8-bit scalar-quantized vectors.

    Until ``train_at`` vectors have been added it is a :class:`FaissIndex` (exact). The add that
    reaches it trains ``nlist`` spherical k-means cells on (a sample of) everything held and moves
    the vectors in; later adds go straight to their cells. Cells are not retrained as the
    collection grows, so one trained far below its final size is best rebuilt
    (``rag check --repair``).

    Args:
        nlist: cells; default ``2·√n`` at training time (2,048 for a million vectors).
        nprobe: cells visited per query; default ``max(16, nlist / 64)`` (32 for a million). Recall
            rises with it, and so does the time per query.
        train_at: how many vectors to hold before training.
    """

    kind = "ivf-sq8"

    def __init__(self, dimension: int, *, nlist: int | None = None, nprobe: int | None = None,
                 train_at: int = 50_000, _index: faiss.Index | None = None) -> None:
        self.dimension = dimension
        self.nlist = nlist
        self.train_at = max(train_at, 1)
        self._flat: FaissIndex | None = None
        self._ivf: faiss.IndexIVFScalarQuantizer | None = None
        if isinstance(_index, faiss.IndexIVFScalarQuantizer):  # read_index and clone_index downcast already
            self._ivf = _index
            self.nlist = int(self._ivf.nlist)
            if nprobe is not None:
                self._ivf.nprobe = nprobe
        else:
            self._flat = FaissIndex(dimension, _index=_index)
        self._nprobe = nprobe

    @property
    def trained(self) -> bool:
        return self._ivf is not None

    @property
    def nprobe(self) -> int | None:
        return int(self._ivf.nprobe) if self._ivf is not None else self._nprobe

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        self._nprobe = value
        if self._ivf is not None:
            self._ivf.nprobe = value

    def __len__(self) -> int:
        return int(self._ivf.ntotal) if self._ivf is not None else len(self._flat)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        vectors = _as_matrix(vectors, len(ids), self.dimension)
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if self._ivf is not None:
            with _all_cores():  # assigning vectors to cells is a batch search
                self._ivf.add_with_ids(vectors, ids)
            return
        if len(self._flat) + len(ids) < self.train_at:
            self._flat.add(ids, vectors)
            return
        held_ids, held = self._flat.vectors()
        self._train(np.concatenate([held_ids, ids]), np.concatenate([held, vectors]))

    def _train(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        n = len(ids)
        nlist = self.nlist or int(min(65_536, max(16, 2 ** round(math.log2(2 * math.sqrt(n))))))
        nlist = min(nlist, max(1, n // 39))  # k-means wants ≥ 39 points per cell
        quantizer = faiss.IndexFlatIP(self.dimension)
        ivf = faiss.IndexIVFScalarQuantizer(quantizer, self.dimension, nlist, faiss.ScalarQuantizer.QT_8bit,
                                            faiss.METRIC_INNER_PRODUCT)
        ivf.cp.spherical = True  # unit vectors: centroids on the sphere
        sample = vectors
        if n > 64 * nlist:  # plenty for k-means; training on all of a million is wasted time
            sample = vectors[np.random.default_rng(0).choice(n, 64 * nlist, replace=False)]
        logger.info("training %d IVF cells on %d of %d vectors", nlist, len(sample), n)
        with _all_cores():
            ivf.train(sample)
            ivf.add_with_ids(vectors, ids)
        ivf.nprobe = self._nprobe or max(16, nlist // 64)
        ivf.quantizer_trains_alone = 0
        self._quantizer = quantizer  # the IVF index does not own it: keep it alive
        self._ivf, self._flat, self.nlist = ivf, None, nlist

    def delete(self, ids: np.ndarray) -> None:
        if len(ids) == 0:
            return
        if self._ivf is None:
            self._flat.delete(ids)
        else:
            self._ivf.remove_ids(np.ascontiguousarray(ids, dtype=np.int64))

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`VectorIndex.search`; with ``allowed``, only the visited cells' allowed vectors are
        scored, so fewer than ``k`` can come back when few are allowed (:class:`index.live.LiveVectors`
        then scores the allowed vectors exactly)."""
        if self._ivf is None:
            return self._flat.search(queries, k, allowed)
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if len(self) == 0 or k <= 0 or (allowed is not None and len(allowed) == 0):
            return _empty_result(len(queries))
        _one_thread()
        if allowed is None:
            return self._ivf.search(queries, min(k, len(self)))
        params = faiss.SearchParametersIVF(sel=faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64)),
                                           nprobe=int(self._ivf.nprobe))
        return self._ivf.search(queries, min(k, len(self), len(allowed)), params=params)

    def ids(self) -> np.ndarray:
        if self._ivf is None:
            return self._flat.ids()
        lists = self._ivf.invlists
        parts = [faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
                 for i in range(self._ivf.nlist) if lists.list_size(i)]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)


    def save(self, path: Path) -> None:
        faiss.write_index(self._ivf if self._ivf is not None else self._flat._index, str(path))

    @classmethod
    def load(cls, path: Path, **options: int) -> IvfSq8Index:
        index = faiss.read_index(str(path))
        return cls(index.d, _index=index, **options)


def create_vector_index(kind: VectorIndexKind, dimension: int, **options: int) -> VectorIndex:
    """A new, empty vector index of the given kind; ``options`` go to its class (``nprobe``…). ``auto``
    starts exact (:mod:`index.vector_switch` decides when it stops being)."""
    if kind in ("flat", "auto"):
        return FaissIndex(dimension)
    if kind == "ivf-sq8":
        return IvfSq8Index(dimension, **options)
    raise ValueError(f"unknown vector index kind {kind!r}; choose one of {', '.join(VECTOR_INDEX_KINDS)}")


def load_vector_index(kind: VectorIndexKind, path: Path) -> VectorIndex:
    if kind == "auto":  # whichever it had become when saved
        index = faiss.read_index(str(path))
        if isinstance(index, faiss.IndexIVFScalarQuantizer):
            return IvfSq8Index(index.d, _index=index)
        return FaissIndex(index.d, _index=index)
    if kind == "flat":
        return FaissIndex.load(path)
    if kind == "ivf-sq8":
        return IvfSq8Index.load(path)
    raise ValueError(f"unknown vector index kind {kind!r}; choose one of {', '.join(VECTOR_INDEX_KINDS)}")
