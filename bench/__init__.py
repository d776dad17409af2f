"""``python -m bench`` / ``rag bench``: how fast ingestion and answering are, and how big things get.

Sections (each measures and reports; none asserts a time):

- **ingest**: chunks/s and tokens/s on the 395 SQuAD paragraphs and on a generated corpus of
  ≥ 10,000 chunks, per embedding backend, against a plain ``SentenceTransformer.encode`` loop
  (torch, float32, batch 32) over the same chunk texts; re-ingest of the unchanged corpus; recall@5
  on the public split per backend (through the eval harness).
- **answering**: ``ask`` latency in-process (with a per-stage breakdown and a profile), and over HTTP
  against a real ``rag serve`` at concurrency 1, 8 and 32.
- **footprint**: the server's peak RSS, the index size on disk, process start to ``/readyz``.
- **writes**: adding and deleting one document at two index sizes (the hash embedder).
- **scale**: vector search alone over 1,000,000 synthetic 384-d vectors: FAISS flat and IVF-SQ8, and
  Milvus's FLAT, IVF_SQ8 and HNSW in milvus-lite.
- **scale-ask**: ``ask`` in-process and over HTTP, BM25 and dense search alone, memory and disk, as one
  local index grows through 10k, 250k and 1M chunks of real English (the hash embedder).

``--smoke`` runs every section on tiny inputs with the fake embedder, in seconds (what CI runs).
"""
from __future__ import annotations

from bench.cli import add_arguments, main, run_and_report, run_benchmark
from bench.milvus_server import MILVUS_SERVER_DIR, MilvusServer
from bench.answering import in_process_server
from bench.serve import child_env, free_port, rag_serve_command, serving, wait_ready
from bench.corpus import train_sentences
from bench.scale import synthetic_vectors
from bench.stats import Timer, percentiles

__all__ = ["main", "run_benchmark", "run_and_report", "add_arguments",
           "free_port", "wait_ready", "serving", "rag_serve_command", "child_env", "MilvusServer", "MILVUS_SERVER_DIR",
           "Timer", "percentiles", "in_process_server", "synthetic_vectors", "train_sentences"]
