"""Fit the hybrid retriever's fusion weights (rag/models/fusion_weights.json) with article-level CV.

    .venv/bin/python scripts/fit_fusion_weights.py [--squad FILE] [--splits 3] [--out FILE]

The default data is ``../shared/train/squad2-dev-other.json`` (SQuAD 2.0 dev articles that are not
in the public split, which is never fitted on). Indexes its paragraphs exactly as ``rag eval`` does
(the same cache), and for every answerable question records the candidate pool and each signal's
raw score once (``Retriever.pool``). Each weight triple on a small grid then re-ranks those pools
offline. For each random split of the articles into two halves, the triple that ranks best on one
half (recall@1 + recall@5 + mrr@10) is scored on the other half, and the swap: the held-out
figures are printed. The fit on all the articles is written to ``--out`` with its provenance.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SEED = 0  # the article halvings
sys.path.insert(0, str(REPO))

from eval.datasets import load_dataset  # noqa: E402
from eval.metrics import distinct  # noqa: E402
from eval.fitting import article_halves, provenance  # noqa: E402
from eval.runner import RETRIEVE_K  # noqa: E402
from eval.cache import DEFAULT_CACHE_DIR, open_cached_index  # noqa: E402
from rag import Pipeline  # noqa: E402
from rag.pipeline import DEFAULT_BACKEND  # noqa: E402
from rag.embed import SentenceTransformerEmbedder  # noqa: E402
from rag.retrieve import DEFAULT_FUSION_FILE, SIGNALS, fuse  # noqa: E402

GRID = [{"dense": d, "sentence": s, "lexical": 1.0} for d in (0.25, 0.5, 0.75, 1.0, 1.25)
        for s in (0.75, 1.0, 1.25, 1.5, 2.0)]


def collect(squad: Path, cache_dir: str) -> list[dict]:
    """Per answerable question: its article, gold documents, pool's documents and raw signals."""
    dataset = load_dataset(squad)
    pipeline = open_cached_index(embedder=SentenceTransformerEmbedder(backend=DEFAULT_BACKEND), documents=dataset.documents,
                                 cache_dir=cache_dir).pipeline
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
    parser.add_argument("--squad", type=Path, default=REPO.parent / "shared" / "train" / "squad2-dev-other.json")
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE_DIR, help="where rag eval caches its index builds")
    parser.add_argument("--splits", type=int, default=3, help="random halvings of the articles (default 3)")
    parser.add_argument("--out", type=Path, default=DEFAULT_FUSION_FILE)
    args = parser.parse_args()
    items = collect(args.squad, args.cache_dir)
    tuned, equal = [], []
    halves = article_halves((item["article"] for item in items), splits=args.splits, seed=SEED)
    for n, (fit_on, report_on) in enumerate(halves):
        weights = best([i for i in items if i["article"] in fit_on])
        held = [i for i in items if i["article"] in report_on]
        tuned.append(ranks(held, weights))
        equal.append(ranks(held, dict.fromkeys(SIGNALS, 1.0)))
        print(f"split {n // 2}: fitted {weights}", flush=True)
    show("held out, weights fitted on the other half", figures(np.concatenate(tuned)))
    show("same questions, equal weights", figures(np.concatenate(equal)))
    weights = best(items)
    show(f"all articles (in-sample) {weights}", figures(ranks(items, weights)))
    held_out = figures(np.concatenate(tuned))
    from rag.embed import DEFAULT_MODEL_NAME, DEFAULT_MODEL_SHA256
    from rag.pipeline import DEFAULT_SENTENCE_VECTORS

    about = provenance([args.squad], seed=SEED, features=list(SIGNALS),
                       embedder={"name": DEFAULT_MODEL_NAME, "sha256": DEFAULT_MODEL_SHA256, "backend": DEFAULT_BACKEND,
                                 "sentence_vectors": DEFAULT_SENTENCE_VECTORS},
                       questions=len(items), splits=args.splits, held_out={k: round(v, 4) for k, v in held_out.items()},
                       held_out_equal_weights={k: round(v, 4) for k, v in figures(np.concatenate(equal)).items()})
    args.out.write_text(json.dumps({"weights": weights, "about": about}, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
