"""``python -m bench`` / ``rag bench``: how fast ingestion and answering are, and how big things get.

Sections (each measures and reports; none asserts a time):

- **ingest**: chunks/s and tokens/s on the 395 SQuAD paragraphs and on a generated corpus of
  ≥ 10,000 chunks, per embedding backend, against a plain ``SentenceTransformer.encode`` loop
  (torch, float32, batch 32) over the same chunk texts; re-ingest of the unchanged corpus; recall@5
  on the public split per backend (through the eval harness).
- **answering**: ``ask`` latency in-process (with a per-stage breakdown and a profile), and over HTTP
  against a real ``rag serve`` at concurrency 1, 8 and 32.
- **footprint**: the server's peak RSS, the index size on disk, process start to ``/readyz``.
- **scale**: vector search alone over 1,000,000 synthetic 384-d vectors, flat against IVF-SQ8.

``--smoke`` runs every section on tiny inputs with the fake embedder, in seconds (what CI runs).
"""
from __future__ import annotations

from bench.cli import main, run_benchmark

__all__ = ["main", "run_benchmark"]
