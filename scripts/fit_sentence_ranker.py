"""Fit the sentence ranker (rag/models/sentence_ranker.json) on SQuAD 2.0 training data, with article-level CV.

    .venv/bin/python scripts/fit_sentence_ranker.py [--squad FILE] [--cache FILE] [--out FILE] [--ablate]

The default data is ``../shared/train/squad2-dev-other.json`` (19 SQuAD 2.0 dev articles that are
not in the public split, which is never fitted on). Opens the index of its paragraphs as ``rag eval``
builds it (eval.cache, same cache directory), asks every answerable question as the eval does (k=50,
hybrid) and records the candidate sentences the answerer sees — the sentences of the top three
passages — each labelled by whether it contains a gold answer (eval.metrics.contains_answer).
``--cache FILE`` keeps what was collected, so a refit does not ask again.

A logistic model of "holds the answer" over :data:`rag.sentence_rank.FEATURES` is fitted on half the
articles and scored on the other half, then swapped; the figures printed are those held-out ones,
beside ordering by similarity alone: how often the top sentence (and the top 3 and 4, the reader's
windows) holds a gold answer. The shipped model is fitted on all the articles.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from eval.fitting import article_halves, provenance  # noqa: E402
from eval.cache import DEFAULT_CACHE_DIR, open_cached_index  # noqa: E402
from eval.metrics import contains_answer  # noqa: E402
from rag.answer import Answerer, AnswerSet  # noqa: E402
from rag.sentence_rank import DEFAULT_SENTENCE_MODEL, FEATURES, SentenceRanker, sentence_features  # noqa: E402

COSINE_ONLY = SentenceRanker({"cosine": 1.0})
CACHE_FORMAT = "sentence-ranker/1"


class _Recorder(Answerer):
    """Keeps the candidates of the last question instead of answering it."""

    last = None

    def answer(self, question, query_vector, chunks, sentences, *, fused_scores=None) -> AnswerSet:
        self.last = self.candidates(query_vector, chunks, sentences, fused_scores=fused_scores)
        return AnswerSet([], 0.0, True)


def collect(squad: Path, cache_dir: str) -> list[dict]:
    """Every answerable question with its candidate sentences, as the eval's pipeline sees them."""
    from eval.datasets import load_dataset
    from rag.embed import SentenceTransformerEmbedder

    dataset = load_dataset(squad)
    from rag.pipeline import DEFAULT_BACKEND

    pipeline = open_cached_index(embedder=SentenceTransformerEmbedder(backend=DEFAULT_BACKEND), documents=dataset.documents,
                                 cache_dir=cache_dir).pipeline
    return candidates_of(pipeline, dataset.examples)


def candidates_of(pipeline, examples) -> list[dict]:
    """The answerable ``examples`` with their candidate sentences under ``pipeline``'s retrieval."""
    from eval.runner import RETRIEVE_K

    answerer, recorder = pipeline.answerer, _Recorder(ranker=COSINE_ONLY)
    pipeline.answerer = recorder
    items = []
    try:
        for example in examples:
            if not example.answerable:
                continue
            result = pipeline.ask(example.question, k=RETRIEVE_K, mode="hybrid")
            found = recorder.last
            items.append({
                "id": example.qid, "article": example.gold_doc_ids[0].rsplit("#", 1)[0], "question": example.question,
                "answers": list(example.answers), "fused": [p.score for p in result.passages[:2]],
                "candidates": [{"text": text, "similarity": float(found.similarity[i]), "fused": float(found.fused[i]),
                                "title": found.chunks[i].title, "label": bool(contains_answer(text, example.answers))}
                               for i, text in enumerate(found.texts)]})
    finally:
        pipeline.answerer = answerer
    return items


def features(item: dict) -> np.ndarray:
    c = item["candidates"]
    return sentence_features(item["question"], [x["text"] for x in c],
                             similarity=np.array([x["similarity"] for x in c]), fused=np.array([x["fused"] for x in c]), titles=[x["title"] for x in c])


def fit(X: list[np.ndarray], items: list[dict], names: tuple[str, ...] = FEATURES, *, C: float = 1.0) -> SentenceRanker:
    """Logistic regression of "holds a gold answer" over the candidates of ``items``."""
    columns = [FEATURES.index(n) for n in names]
    rows = np.concatenate([x[:, columns] for x in X])
    labels = np.concatenate([[c["label"] for c in item["candidates"]] for item in items])
    model = LogisticRegression(C=C, max_iter=5000, fit_intercept=False).fit(rows, labels)
    return SentenceRanker({n: round(float(w), 5) for n, w in zip(names, model.coef_[0], strict=True)})


def score(ranker: SentenceRanker, X: list[np.ndarray], items: list[dict]) -> dict[str, list]:
    """Per question: does the top sentence hold a gold answer, and do the top 3 / the top 4 (the
    sentences the answerer's reader reads by default)."""
    out = defaultdict(list)
    for x, item in zip(X, items, strict=True):
        c = item["candidates"]
        order = np.argsort(-ranker.score(x), kind="stable") if c else np.zeros(0, dtype=int)
        for n, key in ((1, "top1"), (3, "top3"), (4, "top4")):
            out[key].append(float(any(c[i]["label"] for i in order[:n])))
    return out


def held_out(X: list[np.ndarray], items: list[dict], names: tuple[str, ...] = FEATURES,
             *, C: float = 1.0) -> dict[str, float]:
    """Fit on each half's articles, score the other half's questions; the pooled means."""
    pooled = defaultdict(list)
    for fit_on, score_on in article_halves(item["article"] for item in items):
        train = [i for i, item in enumerate(items) if item["article"] in fit_on]
        test = [i for i, item in enumerate(items) if item["article"] in score_on]
        ranker = fit([X[i] for i in train], [items[i] for i in train], names, C=C)
        for key, values in score(ranker, [X[i] for i in test], [items[i] for i in test]).items():
            pooled[key].extend(values)
    return {key: float(np.mean(values)) for key, values in pooled.items()}


def show(name: str, figures: dict[str, float]) -> str:
    return (f"{name:<28} a gold answer in the top sentence {figures['top1']:.3f}, top 3 {figures['top3']:.3f}, "
            f"top 4 {figures['top4']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad", type=Path, default=REPO.parent / "shared" / "train" / "squad2-dev-other.json")
    parser.add_argument("--cache", type=Path, help="reuse (or save) the collected candidates here")
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE_DIR, help="where rag eval caches its index builds")
    parser.add_argument("--out", type=Path, default=DEFAULT_SENTENCE_MODEL)
    parser.add_argument("--ablate", action="store_true", help="also print the held-out figures without each feature")
    args = parser.parse_args()
    if args.cache and args.cache.exists():
        body = json.loads(args.cache.read_text())
        if body.get("format") != CACHE_FORMAT:
            sys.exit(f"{args.cache} was written by another version of this script; delete it to collect again")
        items = body["items"]
    else:
        items = collect(args.squad, args.cache_dir)
        if args.cache:
            args.cache.write_text(json.dumps({"format": CACHE_FORMAT, "items": items}))
    X = [features(item) for item in items]
    n_candidates = sum(len(item["candidates"]) for item in items)
    print(f"{len(items)} answerable questions, {n_candidates} candidate sentences "
          f"({sum(c['label'] for item in items for c in item['candidates'])} hold a gold answer); "
          f"a gold answer is in some candidate for {np.mean([any(c['label'] for c in i['candidates']) for i in items]):.3f}")
    print("held out (article-level 2-fold CV):")
    baseline = {k: float(np.mean(v)) for k, v in score(COSINE_ONLY, X, items).items()}
    print(show("similarity alone (before)", baseline))
    figures = held_out(X, items)
    print(show("sentence ranker", figures))
    if args.ablate:
        for name in FEATURES:
            if name != "bias":
                without = held_out(X, items, tuple(n for n in FEATURES if n != name))
                print(show(f"  without {name}", without))
    final = fit(X, items)
    from rag.embed import DEFAULT_MODEL_NAME, DEFAULT_MODEL_SHA256
    from rag.pipeline import DEFAULT_BACKEND, DEFAULT_SENTENCE_VECTORS
    from rag.retrieve import fusion_weights

    final.save(args.out, about=provenance(
        [args.squad], features=FEATURES,
        embedder={"name": DEFAULT_MODEL_NAME, "sha256": DEFAULT_MODEL_SHA256, "backend": DEFAULT_BACKEND,
                  "sentence_vectors": DEFAULT_SENTENCE_VECTORS},
        fusion_weights=fusion_weights(), questions=len(items), candidates=n_candidates,
        held_out={k: round(v, 4) for k, v in figures.items()},
        similarity_alone={k: round(v, 4) for k, v in baseline.items()}))
    print(f"wrote {args.out}: {final.weights}")


if __name__ == "__main__":
    main()
