"""Vector search alone at scale on Milvus (milvus-lite, in this process): FLAT, IVF_SQ8 and HNSW
over the same vectors and queries as the FAISS rows of :mod:`bench.scale`.

milvus-lite is Milvus's embedded form: the same index types (Knowhere) and client API as a server,
but one process and no query nodes. Its recall figures are the index types'; its latencies are
lite's (it spends about 0.45 µs per stored row on every search, whatever the index: ~450 ms at a
million rows), not what a server's query nodes would answer in.
"""
from __future__ import annotations

import gc
import json
import logging
import multiprocessing
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.stats import Timer, dir_size_mb, percentiles, rss_mb
from domain.logs import quiet_logger

__all__ = ["milvus_kinds", "milvus_scale_rows"]

logger = logging.getLogger(__name__)

_INSERT_BATCH = 10_000
# What a forked child measures: set just before the fork, so the vectors are shared, not pickled.
_INPUT: dict[str, Any] = {}


def milvus_kinds(nlist: int, nprobe: int) -> tuple[tuple[str, dict, dict], ...]:
    """(index type, build parameters, search parameters): IVF_SQ8 with the FAISS ivf-sq8 row's cells,
    HNSW with the settings docs/scaling.md recommends."""
    return (("FLAT", {}, {}), ("IVF_SQ8", {"nlist": nlist}, {"nprobe": nprobe}),
            ("HNSW", {"M": 16, "efConstruction": 128}, {"ef": 64}))


def _recall(found: list[list[int]], exact: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(e.tolist())) / len(e) for f, e in zip(found, exact, strict=True)]))


def milvus_scale_rows(vectors: np.ndarray, queries: np.ndarray, exact: np.ndarray, *, k: int, work: Path,
                      kinds: tuple[tuple[str, dict, dict], ...]) -> list[dict[str, Any]]:
    """One row per index type: build (insert + index) time, memory, disk, p50/p95 search, recall@k.

    Each type is built in its own collection, in a forked child process: its memory is that child's
    growth, and no build can meet another type's index. ``exact``: each query's true top ``k`` ids
    (row numbers of ``vectors``), from an exact search.
    """
    rows = []
    context = multiprocessing.get_context("fork")
    for kind in kinds:
        result = work / f"{kind[0]}.json"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        _INPUT.update(vectors=vectors, queries=queries, exact=exact, k=k, work=work, kind=kind, result=result)
        child = context.Process(target=_measure_one, name=f"milvus-{kind[0]}")
        child.start()
        child.join()
        _INPUT.clear()
        if child.exitcode != 0 or not result.is_file():  # reported, and the other types still measured
            logger.error("measuring milvus-lite %s failed (exit code %s)", kind[0], child.exitcode)
            rows.append({"kind": f"milvus-lite {kind[0]}", "engine": "milvus-lite", "index_type": kind[0],
                         "error": f"failed (exit code {child.exitcode}); see the log"})
            continue
        rows.append(json.loads(result.read_text(encoding="utf-8")))
        logger.info("milvus-lite %s: %s", kind[0], rows[-1])
    shutil.rmtree(work, ignore_errors=True)
    return rows


def _measure_one() -> None:
    from pymilvus import DataType, MilvusClient, MilvusException

    vectors, queries, exact, k, work = (_INPUT[key] for key in ("vectors", "queries", "exact", "k", "work"))
    index_type, build, search = _INPUT["kind"]
    gc.collect()
    before = rss_mb() or 0.0
    client = MilvusClient(str(work / "scale.db"))
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=vectors.shape[1])
    params = client.prepare_index_params()
    params.add_index("v", index_type=index_type, metric_type="IP", params=build)
    # milvus-lite logs a stack trace for a timestamp call pymilvus makes per index build: not ours
    with quiet_logger("grpc._server"):
        client.create_collection("scale", schema=schema)
        with Timer() as insert:
            for start in range(0, len(vectors), _INSERT_BATCH):
                block = vectors[start:start + _INSERT_BATCH]
                client.insert("scale", [{"id": start + i, "v": row} for i, row in enumerate(block.tolist())])
            client.flush("scale")
        with Timer() as built:  # over the sealed rows, at once (an index declared up front is built
            try:                  # in the background, and lite searches by brute force meanwhile)
                client.create_index("scale", params)
            except MilvusException as exc:
                # A long build (HNSW: minutes) can outlast the gRPC keep-alive; pymilvus then retries a
                # call the server has finished, which answers that the index exists.
                if "already exists" not in str(exc):
                    raise
            client.load_collection("scale")
    times, found = [], []
    for query in queries.tolist():
        started = time.perf_counter()
        hits = client.search("scale", data=[query], anns_field="v", limit=k,
                             search_params={"metric_type": "IP", "params": search})
        times.append((time.perf_counter() - started) * 1000)
        found.append([int(hit["id"]) for hit in hits[0]])
    described = ", ".join(f"{key} {value}" for key, value in {**build, **search}.items())
    row = {"kind": f"milvus-lite {index_type}" + (f" ({described})" if described else ""), "engine": "milvus-lite",
           "index_type": index_type, "build_s": insert.seconds + built.seconds, "insert_s": insert.seconds,
           "index_s": built.seconds, "disk_mb": dir_size_mb(work), "rss_growth_mb": (rss_mb() or 0.0) - before,
           "recall": _recall(found, exact), **percentiles(times)}
    client.close()
    _INPUT["result"].write_text(json.dumps(row), encoding="utf-8")
