"""Fit the hybrid retriever's fusion weights (rag.retrieve.FUSION_WEIGHTS) with article-level CV.

    .venv/bin/python scripts/fit_fusion_weights.py [--squad FILE] [--index DIR] [--splits 3]

Indexes the split's paragraphs exactly as ``rag eval`` does, and for every answerable question
records the candidate pool and each signal's raw score once (``Retriever.pool``). Each weight
triple on a small grid then re-ranks those pools offline. For each random split of the articles
into two halves, the triple that ranks best on one half (recall@1 + recall@5 + mrr@10) is scored
on the other half, and the swap: the held-out figures printed are what the README reports. The
last line is the fit on all the articles, which is what ships.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from eval.datasets import load_dataset  # noqa: E402
from eval.metrics import distinct  # noqa: E402
from eval.runner import RETRIEVE_K  # noqa: E402
from rag import Pipeline  # noqa: E402
from rag.retrieve import SIGNALS, fuse  # noqa: E402

GRID = [{"dense": d, "sentence": s, "lexical": 1.0} for d in (0.25, 0.5, 0.75, 1.0, 1.25)
        for s in (0.75, 1.0, 1.25, 1.5, 2.0)]


def collect(squad: Path, index_dir: Path) -> list[dict]:
    """Per answerable question: its article, gold documents, pool's documents and raw signals."""
    dataset = load_dataset(squad)
    pipeline = Pipeline.open(index_dir)
    pipeline.ingest_documents(dataset.documents)
    return pools(pipeline, dataset.examples)


def pools(pipeline: Pipeline, examples) -> list[dict]:
    """The candidate pool and raw signals of each answerable example, as ``Pipeline.ask`` sees them."""
    snapshot = pipeline.directory.snapshot()
    items = []
    for example in examples:
        if not (example.answers and example.gold_doc_ids):
            continue
        question = example.question.strip()
        vector = pipeline.embedder.encode_queries([question])[0]
        pool, raw = pipeline.retriever.pool(snapshot, question, vector, k=RETRIEVE_K)
        stored = snapshot.chunks(pool)
        items.append({"article": example.gold_doc_ids[0].rsplit("#", 1)[0], "gold": set(example.gold_doc_ids),
                      "docs": [stored[c].doc_id for c in pool], "raw": raw})
    return items


def ranks(items: list[dict], weights: dict[str, float]) -> np.ndarray:
    """The 1-based rank of each question's first gold document (a large number when missing)."""
    out = []
    for item in items:
        order = np.argsort(-fuse(item["raw"], weights), kind="stable")
        ranked = distinct(item["docs"][i] for i in order)
        out.append(next((r for r, doc in enumerate(ranked, 1) if doc in item["gold"]), 10**6))
    return np.array(out)


def figures(r: np.ndarray) -> dict[str, float]:
    return {"recall@1": float(np.mean(r <= 1)), "recall@5": float(np.mean(r <= 5)),
            "mrr@10": float(np.mean(np.where(r <= 10, 1.0 / r, 0.0)))}


def best(items: list[dict]) -> dict[str, float]:
    return max(GRID, key=lambda w: sum(figures(ranks(items, w)).values()))


def show(name: str, f: dict[str, float]) -> None:
    print(f"{name:44s} " + "  ".join(f"{k} {v:.4f}" for k, v in f.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--squad", type=Path, default=REPO.parent / "shared" / "eval" / "squad2-dev-public.json")
    parser.add_argument("--index", type=Path, help="index directory to build or reuse (default: a temporary one)")
    parser.add_argument("--splits", type=int, default=3, help="random halvings of the articles (default 3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        items = collect(args.squad, args.index or Path(tmp) / "index")
    articles = sorted({item["article"] for item in items})
    rng = random.Random(0)
    tuned, equal = [], []
    for split in range(args.splits):
        shuffled = articles[:]
        rng.shuffle(shuffled)
        halves = (set(shuffled[: len(shuffled) // 2]), set(shuffled[len(shuffled) // 2:]))
        for fit_on, report_on in (halves, halves[::-1]):
            weights = best([i for i in items if i["article"] in fit_on])
            held = [i for i in items if i["article"] in report_on]
            tuned.append(ranks(held, weights))
            equal.append(ranks(held, dict.fromkeys(SIGNALS, 1.0)))
            print(f"split {split}: fitted {weights}", flush=True)
    show("held out, weights fitted on the other half", figures(np.concatenate(tuned)))
    show("same questions, equal weights", figures(np.concatenate(equal)))
    weights = best(items)
    show(f"all articles (in-sample) {weights}", figures(ranks(items, weights)))


if __name__ == "__main__":
    main()
