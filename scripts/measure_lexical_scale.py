"""The in-memory BM25 index alone at a size: build, memory, search, save and load.

    .venv/bin/python scripts/measure_lexical_scale.py [--chunks 1000000]

Chunks are sentences of ``../shared/train/squad-train.json`` joined five at a time (seed 0), as in
``rag bench --only scale-ask``; 120 public-split questions, top 50. Prints the build time, the number
of postings and terms, the arrays' size, search p50 / p95, the saved copy's size and save / load times,
and the process's peak RSS (the build's, from analysing text to the final merge).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import train_sentences
from index import LexicalIndex, query_terms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--train", default="../shared/train/squad-train.json")
    parser.add_argument("--qa", default="../shared/eval/squad2-dev-public.json")
    args = parser.parse_args()
    sentences = train_sentences(Path(args.train))
    public = json.loads(Path(args.qa).read_text(encoding="utf-8"))["data"]
    questions = [qa["question"] for a in public for p in a["paragraphs"] for qa in p["qas"]][::30][:120]
    rng = random.Random(0)
    index = LexicalIndex()
    started = time.perf_counter()
    for start in range(0, args.chunks, 50_000):
        bodies = [" ".join(rng.choice(sentences) for _ in range(5)) for _ in range(min(50_000, args.chunks - start))]
        index.add(np.arange(start + 1, start + len(bodies) + 1), bodies)
    index.compact()
    print(f"built {args.chunks:,} chunks in {time.perf_counter() - started:.1f} s")
    print(f"{index.postings:,} postings of {index.terms:,} terms; arrays {index.nbytes / 2**20:,.1f} MiB")
    times = []
    for question in questions:
        terms = query_terms(question)
        started = time.perf_counter()
        index.search(terms, 50)
        times.append((time.perf_counter() - started) * 1000)
    print(f"search (top 50) p50 {np.median(times):.2f} ms, p95 {np.percentile(times, 95):.2f} ms")
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "lexical.npz"
        started = time.perf_counter()
        index.save(path)
        print(f"saved {os.path.getsize(path) / 2**20:,.1f} MiB in {time.perf_counter() - started:.1f} s", end="; ")
        started = time.perf_counter()
        LexicalIndex.load(path)
        print(f"loaded in {time.perf_counter() - started:.1f} s")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
