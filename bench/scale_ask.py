"""``ask`` as the collection grows: one local index grown through the sizes asked for (10k, 250k, 1M
chunks by default), and at each size ``ask`` in-process, its retrieval's parts alone, ``/ask`` over HTTP,
memory and disk.

The chunks are real English: sentences of ``../shared/train/squad-train.json`` (Wikipedia) drawn with a
seed and joined five at a time into one-chunk documents (about 120 words), with the public split's
paragraphs among them so that its questions have their answers. The hash embedder stands in for the
model so that a million chunks are built in minutes (its vectors have no meaning, so dense retrieval
finds little and answers come from BM25); the reader, BM25 and the vector search are the real ones.
"""
from __future__ import annotations

import gc
import json
import logging
import random
import re
import time
from pathlib import Path
from typing import Any

from bench.answering import http_load, in_process_server
from bench.stats import dir_size_mb, peak_rss_mb, percentiles, rss_mb

__all__ = ["scale_ask_run", "train_sentences"]

logger = logging.getLogger(__name__)

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_BATCH = 20_000  # documents per ingest call while growing the index


def train_sentences(path: Path) -> list[str]:
    """Every sentence (over 20 characters) of the SQuAD file at ``path``, in file order."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return [s for article in data["data"] for paragraph in article["paragraphs"]
            for s in _SENTENCE_END.split(paragraph["context"]) if len(s) > 20]


def _records(sentences: list[str], start: int, n: int, rng: random.Random) -> list[dict[str, str]]:
    return [{"id": f"train-{start + i}", "title": "", "text": " ".join(rng.choice(sentences) for _ in range(5))}
            for i in range(n)]


def _timed(calls: list[Any]) -> dict[str, float]:
    times = []
    for call in calls:
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return percentiles(times)


def _measure(pipeline: Any, questions: list[str], *, http_requests: int) -> dict[str, Any]:
    from api import Settings, create_app

    snapshot = pipeline.directory.snapshot()
    vectors = pipeline.embedder.encode_queries(questions)
    for q in questions[:5]:  # warm-up
        pipeline.ask(q)
    found: dict[str, Any] = {
        "ask": _timed([lambda q=q: pipeline.ask(q) for q in questions]),
        "bm25_50": _timed([lambda q=q: snapshot.lexical_search(q, 50) for q in questions]),
        "dense_50": _timed([lambda v=v: snapshot.dense(v, 50) for v in vectors]),
    }
    app = create_app(Settings(index_dir=str(pipeline.directory.root)), pipeline=pipeline)
    with in_process_server(app) as info:
        http_load(info["port"], questions[::-1], concurrency=1, requests=10)
        found["http_c1"] = http_load(info["port"], questions, concurrency=1, requests=http_requests)
        found["http_c8"] = http_load(info["port"], questions, concurrency=8, requests=2 * http_requests)
    gc.collect()
    found["rss_mb"] = rss_mb()
    found["peak_rss_mb"] = peak_rss_mb()
    return found


def scale_ask_run(work: Path, *, sizes: tuple[int, ...], squad: Any, train_file: Path, questions: int = 40,
                  http_requests: int = 100, seed: int = 0, checkpoint: Any = None) -> dict[str, Any]:
    """Grow one index through ``sizes`` chunks and measure answering at each (see the module docstring)."""
    from rag import HashEmbedder, Pipeline, record_to_document

    sentences = train_sentences(train_file)
    rng = random.Random(seed)
    asked = [q for q, _ in squad.questions][::max(1, len(squad.questions) // questions)][:questions]
    pipeline = Pipeline.open(work / "index", embedder=HashEmbedder())
    results: dict[str, Any] = {"sizes": [], "questions": len(asked), "sentences": len(sentences), "seed": seed,
                               "embedder": "hash (384-d)", "data": f"sentences of {train_file.name}, 5 per chunk"}
    public = [record_to_document(r, default_id=r["id"], source="squad") for r in squad.records]
    pipeline.ingest_documents(public)
    held = pipeline.stats()["chunks"]
    ingest_s = 0.0
    for size in sizes:
        while held < size:
            n = min(_BATCH, size - held)
            docs = [record_to_document(r, default_id=r["id"], source="train")
                    for r in _records(sentences, held, n, rng)]
            started = time.perf_counter()
            pipeline.ingest_documents(docs)
            ingest_s += time.perf_counter() - started
            held = pipeline.stats()["chunks"]
            logger.info("scale-ask: %d chunks (%.0f s ingesting)", held, ingest_s)
        pipeline.directory.close()  # measured as a process that opens the index would find it
        started = time.perf_counter()
        snapshot = pipeline.directory.snapshot()
        open_s = time.perf_counter() - started
        vectors = snapshot.vector_index(wait_s=1800)  # past a size, the move to an approximate index
        settled_s = time.perf_counter() - started
        row = {"chunks": held, "ingest_s_so_far": round(ingest_s, 1), "open_s": round(open_s, 2),
               "vectors": vectors, "open_to_vectors_settled_s": round(settled_s, 1),
               "disk_mb": round(dir_size_mb(work / "index"), 1), **_measure(pipeline, asked, http_requests=http_requests)}
        results["sizes"].append(row)
        logger.info("scale-ask at %d chunks: ask p50 %.1f ms, BM25 p50 %.1f ms", held, row["ask"]["p50_ms"],
                    row["bm25_50"]["p50_ms"])
        if checkpoint is not None:
            checkpoint(results)
    first, last = results["sizes"][0], results["sizes"][-1]
    results["ask_p50_ratio_last_vs_first"] = last["ask"]["p50_ms"] / first["ask"]["p50_ms"]
    return results
