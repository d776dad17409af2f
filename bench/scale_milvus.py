"""Vector search alone at scale on Milvus (milvus-lite, in this process): FLAT, IVF_SQ8 and HNSW
over the same vectors and queries as the FAISS rows of :mod:`bench.scale`.

milvus-lite is Milvus's embedded form: the same index types (Knowhere) and client API as a server,
but one process and no query nodes. Its recall figures are the index types'; its latencies are
lite's (it spends about 0.45 µs per stored row on every search, whatever the index: ~450 ms at a
million rows), not what a server's query nodes would answer in.
"""
from __future__ import annotations

import contextlib
import gc
import logging
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from bench.stats import Timer, dir_size_mb, percentiles, rss_mb

__all__ = ["milvus_kinds", "milvus_scale_rows"]

logger = logging.getLogger(__name__)



def milvus_kinds(nlist: int, nprobe: int) -> tuple[tuple[str, dict, dict], ...]:
    """(index type, build parameters, search parameters): IVF_SQ8 with the FAISS ivf-sq8 row's cells,
    HNSW with the settings docs/scaling.md recommends."""
    return (("FLAT", {}, {}), ("IVF_SQ8", {"nlist": nlist}, {"nprobe": nprobe}),
            ("HNSW", {"M": 16, "efConstruction": 128}, {"ef": 64}))
_INSERT_BATCH = 10_000


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    log = logging.getLogger(logger_name)
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


def _recall(found: list[list[int]], exact: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(e.tolist())) / len(e) for f, e in zip(found, exact, strict=True)]))


def milvus_scale_rows(vectors: np.ndarray, queries: np.ndarray, exact: np.ndarray, *, k: int, work: Path,
                      kinds: tuple[tuple[str, dict, dict], ...]) -> list[dict[str, Any]]:
    """One row per index type: build (insert + index) time, memory, disk, p50/p95 search, recall@k.

    ``exact``: each query's true top ``k`` ids (row numbers of ``vectors``), from an exact search.
    """
    from pymilvus import DataType, MilvusClient

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    gc.collect()
    before = rss_mb() or 0.0
    path = work / "scale.db"
    client = MilvusClient(str(path))
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=vectors.shape[1])
    client.create_collection("scale", schema=schema)
    with Timer() as insert:
        for start in range(0, len(vectors), _INSERT_BATCH):
            block = vectors[start:start + _INSERT_BATCH]
            client.insert("scale", [{"id": start + i, "v": row} for i, row in enumerate(block.tolist())])
        client.flush("scale")
    logger.info("milvus-lite: inserted %d vectors in %.0f s", len(vectors), insert.seconds)
    rows = []
    try:
        for index_type, build, search in kinds:
            params = client.prepare_index_params()
            params.add_index("v", index_type=index_type, metric_type="IP", params=build)
            # milvus-lite logs a stack trace for a timestamp call pymilvus makes per index build: not ours
            with Timer() as built, _quiet("grpc._server"):
                client.create_index("scale", params)
                client.load_collection("scale")
            times, found = [], []
            for query in queries.tolist():
                started = time.perf_counter()
                hits = client.search("scale", data=[query], anns_field="v", limit=k,
                                     search_params={"metric_type": "IP", "params": search})
                times.append((time.perf_counter() - started) * 1000)
                found.append([int(hit["id"]) for hit in hits[0]])
            described = ", ".join(f"{key} {value}" for key, value in {**build, **search}.items())
            rows.append({"kind": f"milvus-lite {index_type}" + (f" ({described})" if described else ""),
                         "engine": "milvus-lite", "index_type": index_type, "build_s": insert.seconds + built.seconds,
                         "insert_s": insert.seconds, "index_s": built.seconds, "disk_mb": dir_size_mb(work),
                         "rss_growth_mb": (rss_mb() or 0.0) - before, "recall": _recall(found, exact),
                         **percentiles(times)})
            logger.info("milvus-lite %s: %s", index_type, rows[-1])
            client.release_collection("scale")
            client.drop_index("scale", "v")
    finally:
        client.close()
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(str(path))
        shutil.rmtree(work, ignore_errors=True)
    return rows
