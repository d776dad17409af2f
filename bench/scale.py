"""Vector search alone at scale: the flat default against IVF-SQ8 (and Milvus's index types, in
milvus-lite), on synthetic 384-d vectors.

Uniform random vectors have no neighbourhood structure (every point is about as far as every
other), which no real embedding set looks like and which no approximate index can search. The
vectors here are drawn around 2,000 random centres (cosine ≈ 0.65 to their centre, ≈ 0.4 to a
neighbour), and the queries are fresh draws from the same mixture.
"""
from __future__ import annotations

import gc
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.stats import Timer, percentiles, rss_mb
from index import create_vector_index

__all__ = ["synthetic_vectors", "scale_run"]

logger = logging.getLogger(__name__)


def synthetic_vectors(n: int, d: int, *, centres: int = 2000, seed: int = 0,
                      chunk: int = 100_000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    middle = rng.standard_normal((centres, d)).astype(np.float32)
    middle /= np.linalg.norm(middle, axis=1, keepdims=True)
    out = np.empty((n, d), dtype=np.float32)
    sigma = 1.2 / np.sqrt(d)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        block = middle[rng.integers(0, centres, m)] + sigma * rng.standard_normal((m, d), dtype=np.float32)
        out[start:start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def _serialized_mb(index: Any) -> float:
    import faiss

    inner = getattr(index, "_ivf", None) or getattr(getattr(index, "_flat", None), "_index", None) or index._index
    return faiss.serialize_index(inner).nbytes / 2**20


def _search_times(index: Any, queries: np.ndarray, k: int) -> tuple[list[float], np.ndarray]:
    times, found = [], []
    for q in queries:
        started = time.perf_counter()
        _, ids = index.search(q, k)
        times.append((time.perf_counter() - started) * 1000)
        found.append(ids[0])
    return times, np.stack(found)


def _recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(f.tolist()) & set(e.tolist())) / len(e) for f, e in zip(found, exact, strict=True)]))


def scale_run(*, n: int, d: int = 384, queries: int = 200, k: int = 10, nprobes: tuple[int, ...] = (8, 16, 32, 64, 128),
              train_at: int | None = None, milvus_work: Path | None = None,
              milvus_types: tuple[str, ...] | None = None) -> dict:
    """Build each kind over the same ``n`` vectors; memory, build time, p50 search, recall@k vs exact.

    ``milvus_work``: also build Milvus's index types in milvus-lite there (:mod:`bench.scale_milvus`);
    ``milvus_types``: only these of them (FLAT, IVF_SQ8, HNSW).
    """
    with Timer() as t:
        everything = synthetic_vectors(n + queries, d)  # the queries: fresh draws from the same mixture
        vectors, query_vectors = everything[:n], everything[n:]
    ids = np.arange(n, dtype=np.int64)
    logger.info("generated %d vectors in %.1f s", n, t.seconds)
    results: dict[str, Any] = {"n": n, "dimension": d, "queries": queries, "k": k,
                               "data": "2,000-centre Gaussian mixture on the unit sphere (see bench/scale.py)"}
    rows = []

    gc.collect()
    before = rss_mb()
    flat = create_vector_index("flat", d)
    with Timer() as t:
        for start in range(0, n, 100_000):
            flat.add(ids[start:start + 100_000], vectors[start:start + 100_000])
    flat_rss = (rss_mb() or 0) - (before or 0)
    times, exact = _search_times(flat, query_vectors, k)
    rows.append({"kind": "flat (exact, default)", "build_s": t.seconds, "index_mb": _serialized_mb(flat),
                 "rss_growth_mb": flat_rss, "recall": 1.0, **percentiles(times)})
    del flat
    gc.collect()

    before = rss_mb()
    options = {"train_at": train_at} if train_at else {}
    ivf = create_vector_index("ivf-sq8", d, **options)
    with Timer() as t:
        # One add, as `rag check --repair` rebuilds it: cells trained for the whole collection.
        ivf.add(ids, vectors)
    ivf_rss = (rss_mb() or 0) - (before or 0)
    size = _serialized_mb(ivf)
    default_nprobe = ivf.nprobe
    for nprobe in sorted({*nprobes, default_nprobe}):
        if ivf.nlist and nprobe > ivf.nlist:
            continue
        ivf.nprobe = nprobe
        times, found = _search_times(ivf, query_vectors, k)
        rows.append({"kind": f"ivf-sq8 (nlist {ivf.nlist}, nprobe {nprobe}{', default' if nprobe == default_nprobe else ''})",
                     "nprobe": nprobe, "default": nprobe == default_nprobe, "build_s": t.seconds, "index_mb": size,
                     "rss_growth_mb": ivf_rss, "recall": _recall(found, exact), **percentiles(times)})
    nlist = ivf.nlist
    del ivf
    gc.collect()
    if milvus_work is not None:
        from bench.scale_milvus import milvus_kinds, milvus_scale_rows

        kinds = tuple(kind for kind in milvus_kinds(nlist, default_nprobe) if not milvus_types or kind[0] in milvus_types)
        rows += milvus_scale_rows(vectors, query_vectors, exact, k=k, work=milvus_work, kinds=kinds)
    results["rows"] = rows
    return results
