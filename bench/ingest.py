"""Ingest throughput per embedding backend, the plain-encode reference, re-ingest, recall@5."""
from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.corpus import Squad, generate_corpus, write_squad_jsonl
from bench.stats import Timer, dir_size_mb
from rag import Pipeline, iter_files, load_file

__all__ = ["CountingEmbedder", "chunk_texts", "ingest_run", "build_corpus", "reference_encode", "recall_at_5"]

logger = logging.getLogger(__name__)


class CountingEmbedder:
    """Wraps an :class:`~rag.embed.Embedder` and counts what it is asked to embed, and how long it takes."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name, self.sha256 = inner.name, inner.sha256
        self.dimension, self.max_tokens = inner.dimension, inner.max_tokens
        self.reset()

    def reset(self) -> None:
        self.texts = 0
        self.encode_seconds = 0.0
        self.count_seconds = 0.0

    def count_tokens(self, texts: list[str]) -> list[int]:
        started = time.perf_counter()
        try:
            return self.inner.count_tokens(texts)
        finally:
            self.count_seconds += time.perf_counter() - started

    @contextlib.contextmanager
    def _embedding(self, texts: list[str]):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.texts += len(texts)
            self.encode_seconds += time.perf_counter() - started

    def encode_documents(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        with self._embedding(texts):
            return self.inner.encode_documents(texts, progress=progress)

    def encode_documents_with_spans(self, texts: list[str], spans: list[list[tuple[int, int]]], *,
                                    progress: bool = False) -> tuple[np.ndarray, list[np.ndarray]]:
        with self._embedding(texts):
            return self.inner.encode_documents_with_spans(texts, spans, progress=progress)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.inner.encode_queries(texts)


def chunk_texts(pipeline: Pipeline) -> list[str]:
    """Every chunk text of the index, in id order."""
    return [text for _, text in pipeline.directory.snapshot().store.iter_chunk_texts()]


def ingest_run(label: str, embedder: Any, paths: list[Path], index_dir: Path, *, count_tokens: Callable,
               sentence_vectors: str = "separate") -> dict:
    """Ingest ``paths`` into a fresh index; throughput and where the time went."""
    shutil.rmtree(index_dir, ignore_errors=True)
    counting = CountingEmbedder(embedder)
    pipeline = Pipeline.open(index_dir, embedder=counting, sentence_vectors=sentence_vectors)
    load_before = os.getloadavg()[0]
    with Timer() as t:
        report = pipeline.ingest(paths)
    texts = chunk_texts(pipeline)
    tokens = int(sum(count_tokens(texts)))
    result = {
        "backend": label, "sentence_vectors": sentence_vectors, "seconds": t.seconds, "documents": len(report.added),
        "chunks": len(texts),
        "model_tokens": tokens, "chunks_per_s": len(texts) / t.seconds, "tokens_per_s": tokens / t.seconds,
        "texts_embedded": counting.texts, "embed_seconds": counting.encode_seconds,
        "token_count_seconds": counting.count_seconds,
        "other_seconds": t.seconds - counting.encode_seconds - counting.count_seconds,
        "index_mb": dir_size_mb(index_dir), "load_average": [load_before, os.getloadavg()[0]],
    }
    logger.info("ingest %s: %d chunks in %.1f s", label, len(texts), t.seconds)
    return {"result": result, "pipeline": pipeline, "texts": texts, "counting": counting}


def reingest(pipeline: Pipeline, paths: list[Path]) -> dict:
    with Timer() as t:
        report = pipeline.ingest(paths)
    return {"seconds": t.seconds, "unchanged": len(report.unchanged), "added": len(report.added),
            "updated": len(report.updated)}


def reference_encode(torch_embedder: Any, texts: list[str], tokens: int) -> dict:
    """The plain loop: ``SentenceTransformer.encode(texts, batch_size=32)``, float32, torch."""
    if getattr(torch_embedder, "backend", "torch") != "torch" or getattr(torch_embedder, "batch_size", 32) != 32:
        raise ValueError("the reference is the torch backend at batch size 32")
    load_before = os.getloadavg()[0]
    with Timer() as t:
        torch_embedder.encode_documents(texts)
    return {"backend": "reference: SentenceTransformer.encode (torch fp32, batch 32)", "seconds": t.seconds,
            "load_average": [load_before, os.getloadavg()[0]],
            "chunks": len(texts), "model_tokens": tokens, "chunks_per_s": len(texts) / t.seconds,
            "tokens_per_s": tokens / t.seconds}


def build_corpus(out_dir: Path, squad: Squad, *, sources: list[str], min_chunks: int,
                 chunker: Any) -> tuple[dict, list[str]]:
    """Generated ``.txt`` documents plus the SQuAD paragraphs as JSONL, holding ≥ ``min_chunks`` chunks.

    Returns a description and the chunk texts, chunked exactly as ingest will chunk them.
    """
    shutil.rmtree(out_dir, ignore_errors=True)
    write_squad_jsonl(squad, out_dir / "squad.jsonl")
    texts = [c.text for path in iter_files([out_dir]) for doc in load_file(path)[0] for c in chunker.chunk(doc)]
    generated = 0
    seed = 0
    while len(texts) < min_chunks:
        # About 6 chunks per generated document; top up until there are enough.
        batch = max(1, (min_chunks - len(texts)) // 6 + 1)
        paths = generate_corpus(out_dir / f"part-{seed:02d}", sources=sources, documents=batch, seed=seed)
        texts += [c.text for path in paths for doc in load_file(path)[0] for c in chunker.chunk(doc)]
        generated += batch
        seed += 1
    info = {"dir": str(out_dir), "generated_documents": generated, "squad_documents": len(squad.records),
            "chunks_expected": len(texts), "mb": dir_size_mb(out_dir)}
    return info, texts


def _find_metric(report: Any, name: str) -> float | None:
    if isinstance(report, dict):
        for key, value in report.items():
            if key.endswith(name) and isinstance(value, (int, float)):
                return float(value)
        for value in report.values():
            found = _find_metric(value, name)
            if found is not None:
                return found
    return None


def recall_at_5(embedder: Any, squad_file: Path, squad: Squad, work: Path, *,
                sentence_vectors: str = "separate") -> dict:
    """recall@5 on the public split: through the eval harness (``rag eval``) when it is installed."""
    try:
        from eval import main as eval_main
    except ImportError:
        eval_main = None
    if eval_main is not None and squad_file.is_file():
        out = work / "eval"
        argv = ["--qa", str(squad_file), "--out", str(out), "--json", str(out / "report.json"), "--no-plot",
                "--cache-dir", str(work / "eval-cache"), "--history", str(out / "history.jsonl"),
                "--sentence-vectors", sentence_vectors]
        with contextlib.redirect_stdout(io.StringIO()):
            status = eval_main(argv, embedder=embedder)
        report = json.loads((out / "report.json").read_text(encoding="utf-8"))
        value = _find_metric(report, "recall@5")
        if value is not None:
            return {"recall@5": value, "via": "eval harness (rag eval --qa ... hybrid)", "status": status}
    # Fallback: is the gold paragraph among the top 5 passages?
    index = work / "recall-index"
    shutil.rmtree(index, ignore_errors=True)
    pipeline = Pipeline.open(index, embedder=embedder, sentence_vectors=sentence_vectors)
    pipeline.ingest([write_squad_jsonl(squad, work / "recall.jsonl")])
    hits = [gold in {p.citation.doc_id for p in pipeline.retrieve(q, k=5)} for q, gold in squad.questions]
    return {"recall@5": float(np.mean(hits)) if hits else None, "via": "bench (gold paragraph in top-5 passages)"}
