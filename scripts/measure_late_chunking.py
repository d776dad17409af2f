"""What sentence vectors pooled from their chunk's forward pass ("late chunking") would cost in quality.

    .venv/bin/python scripts/measure_late_chunking.py [--squad FILE] [--cache-dir DIR]

Ingest embeds every sentence a second time, on its own; that is what keeps it near 1.25x the plain
encode loop (README, "Speed"). The alternative is to mean-pool each sentence's token states from the
chunk's own forward pass. This script builds (or reuses) the eval's index of the split, computes
those vectors for every chunk, and compares with the stored ones, with today's fusion weights and
nothing refitted: hybrid recall@1/@5 and mrr@10, and how often the sentence most similar to the
question inside the gold paragraph holds the answer.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from eval.cache import DEFAULT_CACHE_DIR, open_cached_index  # noqa: E402
from eval.datasets import load_dataset  # noqa: E402
from eval.metrics import contains_answer, distinct  # noqa: E402
from eval.runner import RETRIEVE_K  # noqa: E402
from rag.embed import SentenceTransformerEmbedder  # noqa: E402
from rag.retrieve import FUSION_WEIGHTS, fuse  # noqa: E402


def late_vectors(runner, text: str, spans: list[tuple[int, int]]) -> np.ndarray:
    """Each span's vector: the mean of the chunk's token states inside it, normalized."""
    encoding = runner._counter.encode(text.lower() if runner._lower else text, add_special_tokens=True)
    ids = np.array([encoding.ids[: runner.max_tokens]], dtype=np.int64)
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    if "token_type_ids" in runner._inputs:
        feed["token_type_ids"] = np.zeros_like(ids)
    hidden = runner._session.run(None, feed)[0][0]
    offsets = encoding.offsets[: runner.max_tokens]
    rows = []
    for a, b in spans:
        inside = [i for i, (s, e) in enumerate(offsets) if e > s and a <= s and e <= b]
        vector = hidden[inside].mean(axis=0) if inside else hidden.mean(axis=0)
        rows.append(vector / np.linalg.norm(vector))
    return np.array(rows, dtype=np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--squad", type=Path, default=REPO.parent / "shared" / "eval" / "squad2-dev-public.json")
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE_DIR)
    args = parser.parse_args()
    dataset = load_dataset(args.squad)
    embedder = SentenceTransformerEmbedder()
    pipeline = open_cached_index(embedder=embedder, documents=dataset.documents, cache_dir=args.cache_dir).pipeline
    snapshot = pipeline.directory.snapshot()
    ids = sorted(int(i) for i in snapshot.vectors.ids())
    stored, sentences = snapshot.chunks(ids), snapshot.sentences(ids)
    late = {c: late_vectors(embedder._runner, stored[c].text,
                            [(a - stored[c].char_start, b - stored[c].char_start) for a, b in sentences[c][0]])
            for c in ids}
    examples = [e for e in dataset.examples if e.answers and e.gold_doc_ids]
    queries = embedder.encode_queries([e.question for e in examples])
    ranks: dict[str, list[int]] = {"stored (separate)": [], "late-chunked": []}
    picked = {"stored (separate)": 0, "late-chunked": 0}
    for example, query in zip(examples, queries, strict=True):
        pool, raw = pipeline.retriever.pool(snapshot, example.question, query, k=RETRIEVE_K)
        docs = [stored[c].doc_id for c in pool]
        gold = set(example.gold_doc_ids)
        variants = {"stored (separate)": (raw, {c: sentences[c][1] for c in ids}),
                    "late-chunked": ({**raw, "sentence": np.array([float((late[c] @ query).max()) for c in pool])}, late)}
        for name, (signals, vectors) in variants.items():
            order = np.argsort(-fuse(signals, FUSION_WEIGHTS), kind="stable")
            ranked = distinct(docs[i] for i in order)
            ranks[name].append(next((r for r, d in enumerate(ranked, 1) if d in gold), 10**6))
            # inside the gold paragraph: does the most similar sentence hold the answer?
            best = max((float(s), c, i) for c in ids if stored[c].doc_id in gold
                       for i, s in enumerate(vectors[c] @ query))
            a, b = sentences[best[1]][0][best[2]]
            text = stored[best[1]].text[a - stored[best[1]].char_start:b - stored[best[1]].char_start]
            picked[name] += bool(contains_answer(text, list(example.answers)))
    for name, r in ranks.items():
        r = np.array(r)
        print(f"{name:18s} recall@1 {np.mean(r <= 1):.4f}  recall@5 {np.mean(r <= 5):.4f}  "
              f"mrr@10 {np.mean(np.where(r <= 10, 1.0 / r, 0.0)):.4f}  "
              f"answer sentence in the gold paragraph {picked[name] / len(examples):.3f}")


if __name__ == "__main__":
    main()
