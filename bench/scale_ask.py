"""``ask`` as the collection grows: one local index grown through the sizes asked for (10k, 250k, 1M
chunks by default), and at each size ``ask`` in-process, its retrieval's parts alone, ``/ask`` over HTTP,
memory and disk.

The chunks are real English: sentences of ``../shared/train/squad-train.json`` (Wikipedia) drawn with a
seed and joined five at a time into one-chunk documents (about 120 words), with the public split's
paragraphs among them so that its questions have their answers. A hash embedder stands in for the
model so that a million chunks are built in minutes: :class:`ClusteredHashEmbedder`, 384-d like the
model, whose vectors lie around 2,000 centres as real embeddings lie in neighbourhoods (the mixture
of ``bench.scale``). Its vectors mean nothing, so dense retrieval finds little and answers come from
BM25; the reader, BM25 and the vector search (with the automatic move to an approximate index and its
recall check) are the real ones. The plain hash embedder's vectors (sums of random word vectors) have
too little neighbourhood structure for any approximate index to pass the check, so with it search
stays exact: pass ``embedder="hash"`` to see that.
"""
from __future__ import annotations

import gc
import hashlib
import logging
import random
import time
from pathlib import Path
from typing import Any

from bench.answering import http_load, in_process_server, profile_asks
from bench.corpus import train_sentences
import numpy as np

from bench.stats import dir_size_mb, peak_rss_mb, percentiles, rss_mb
from rag import HashEmbedder

__all__ = ["scale_ask_run", "ClusteredHashEmbedder"]

logger = logging.getLogger(__name__)

_BATCH = 20_000  # documents per ingest call while growing the index


class ClusteredHashEmbedder(HashEmbedder):
    """A 384-d stand-in whose vectors lie around 2,000 fixed centres (cosine about 0.65 to their own), the
    centre and the offset drawn from a hash of the text: see the module docstring."""

    def __init__(self) -> None:
        super().__init__(384, name="clustered-hash-embedder")
        centres = np.random.default_rng(0).standard_normal((2_000, 384)).astype(np.float32)
        self._centres = centres / np.linalg.norm(centres, axis=1, keepdims=True)

    def _embed(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
        offset = np.random.default_rng(seed).standard_normal(384, dtype=np.float32)
        vector = self._centres[seed % 2_000] + (1.2 / np.sqrt(384)) * offset
        return vector / np.linalg.norm(vector)


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


def _measure(pipeline: Any, questions: list[str], *, http_requests: int, profile: Path) -> dict[str, Any]:
    from api import Settings, create_app

    snapshot = pipeline.directory.snapshot()
    vectors = pipeline.embedder.encode_queries(questions)
    for q in questions[:5]:  # warm-up
        pipeline.ask(q)
    found: dict[str, Any] = {
        "ask": _timed([lambda q=q: pipeline.ask(q) for q in questions]),
        "bm25_50": _timed([lambda q=q: snapshot.lexical_search(q, 50) for q in questions]),
        "dense_50": _timed([lambda v=v: snapshot.dense(v, 50) for v in vectors]),
        "profile_top": profile_asks(pipeline, questions, profile, top=12),
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
                  http_requests: int = 100, seed: int = 0, embedder: str = "clustered",
                  checkpoint: Any = None) -> dict[str, Any]:
    """Grow one index through ``sizes`` chunks and measure answering at each (see the module docstring)."""
    from rag import Pipeline, record_to_document

    sentences = train_sentences(train_file)
    rng = random.Random(seed)
    asked = [q for q, _ in squad.questions][::max(1, len(squad.questions) // questions)][:questions]
    stand_in = ClusteredHashEmbedder() if embedder == "clustered" else HashEmbedder(384)
    pipeline = Pipeline.open(work / "index", embedder=stand_in)
    results: dict[str, Any] = {"sizes": [], "questions": len(asked), "sentences": len(sentences), "seed": seed,
                               "embedder": f"{stand_in.name} (384-d)", "data": f"sentences of {train_file.name}, 5 per chunk"}
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
               "disk_mb": round(dir_size_mb(work / "index"), 1)}
        row.update(_measure(pipeline, asked, http_requests=http_requests, profile=work / f"profile-{size}.txt"))
        results["sizes"].append(row)
        logger.info("scale-ask at %d chunks: ask p50 %.1f ms, BM25 p50 %.1f ms", held, row["ask"]["p50_ms"],
                    row["bm25_50"]["p50_ms"])
        if checkpoint is not None:
            checkpoint(results)
    first, last = results["sizes"][0], results["sizes"][-1]
    results["ask_p50_ratio_last_vs_first"] = last["ask"]["p50_ms"] / first["ask"]["p50_ms"]
    return results
