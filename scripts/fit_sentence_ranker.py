"""Fit the sentence ranker (rag/models/sentence_ranker.json) on SQuAD 2.0, with article-level cross-validation.

    .venv/bin/python scripts/fit_sentence_ranker.py [--squad FILE] [--cache FILE] [--out FILE] [--ablate]

Opens the index of the split's paragraphs as ``rag eval`` builds it (eval.cache, same cache
directory), asks every answerable question as the eval does (k=50, hybrid) and records the candidate
sentences the answerer sees — the sentences of the top three passages — each labelled by whether it
contains a gold answer (eval.metrics.contains_answer), with the short span the span scorer picks in
it. ``--cache FILE`` keeps what was collected, so a refit does not ask again.

A logistic model of "holds the answer" over :data:`rag.sentence_rank.FEATURES` is fitted on five
articles and scored on the other five, then swapped; the figures printed are those held-out ones,
beside ordering by similarity alone (the answerer before this model): how often the top sentence holds a gold
answer, and the top answer's contains_gold / F1 / EM — never abstaining, and with the shipped
no-answer model (whose signals move with the chosen sentence). The shipped model is fitted on all ten.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from sklearn.linear_model import LogisticRegression

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from eval.cache import DEFAULT_CACHE_DIR, open_cached_index  # noqa: E402
from eval.metrics import contains_answer, exact_match, f1_score, max_over_golds  # noqa: E402
from rag.answer import Answerer, AnswerSet, NoAnswerModel  # noqa: E402
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
    pipeline = open_cached_index(embedder=SentenceTransformerEmbedder(), documents=dataset.documents,
                                 cache_dir=cache_dir).pipeline
    return candidates_of(pipeline, dataset.examples)


def candidates_of(pipeline, examples, *, with_spans: bool = True) -> list[dict]:
    """The answerable ``examples`` with their candidate sentences under ``pipeline``'s retrieval.

    ``with_spans`` also records each candidate's best span (the figures need it; fitting does not).
    """
    from eval.runner import RETRIEVE_K
    from rag.spans import SpanExtractor

    answerer, recorder = pipeline.answerer, _Recorder(ranker=COSINE_ONLY)
    pipeline.answerer = recorder
    spans = SpanExtractor() if with_spans else None
    items = []
    try:
        for example in examples:
            if not example.answerable:
                continue
            result = pipeline.ask(example.question, k=RETRIEVE_K, mode="hybrid")
            found = recorder.last
            short = spans.best_spans(example.question, found.texts) if spans else [None] * len(found)
            items.append({
                "id": example.qid, "article": example.gold_doc_ids[0].rsplit("#", 1)[0], "question": example.question,
                "answers": list(example.answers), "fused": [p.score for p in result.passages[:2]],
                "candidates": [{"text": text, "similarity": float(found.similarity[i]), "fused": float(found.fused[i]),
                                "title": found.chunks[i].title, "label": bool(contains_answer(text, example.answers)),
                                "span": None if s is None else [text[s.start:s.end], s.score]}
                               for i, (text, s) in enumerate(zip(found.texts, short, strict=True))]})
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


def score(ranker: SentenceRanker, X: list[np.ndarray], items: list[dict], no_answer: NoAnswerModel) -> dict[str, list]:
    """Per question: does the top sentence hold a gold answer; the top answer's scores, never abstaining
    and with ``no_answer`` deciding on the signals the answerer would compute."""
    out = defaultdict(list)
    for x, item in zip(X, items, strict=True):
        c, golds = item["candidates"], item["answers"]
        if not c:
            for key in ("top1", "top3", "contains_gold", "f1", "em", "answered_contains_gold", "answered_f1",
                        "answered_em"):
                out[key].append(0.0)
            continue
        scores = ranker.score(x)
        order = np.argsort(-scores, kind="stable")[:3]
        top = c[order[0]]
        answer = top["span"][0] if top["span"] else top["text"]
        span = SimpleNamespace(score=top["span"][1]) if top["span"] else None
        signals = Answerer._signals(item["question"], np.array([s["similarity"] for s in c]), order, top["text"],
                                    span, item["fused"], float(scores[order[0]]))
        kept = no_answer.confidence(signals) >= no_answer.threshold
        figures = {"contains_gold": contains_answer(answer, golds), "f1": max_over_golds(f1_score, answer, golds),
                   "em": max_over_golds(exact_match, answer, golds)}
        out["top1"].append(float(top["label"]))
        out["top3"].append(float(any(c[i]["label"] for i in order)))
        for key, value in figures.items():
            out[key].append(value)
            out[f"answered_{key}"].append(value * kept)
    return out


def folds(items: list[dict]) -> list[set[str]]:
    articles = sorted({item["article"] for item in items})
    return [set(articles[: len(articles) // 2]), set(articles[len(articles) // 2:])]


def held_out(X: list[np.ndarray], items: list[dict], no_answer: NoAnswerModel, names: tuple[str, ...] = FEATURES,
             *, C: float = 1.0) -> dict[str, float]:
    """Fit on each half's articles, score the other half's questions; the pooled means."""
    pooled = defaultdict(list)
    for fold in folds(items):
        train = [i for i, item in enumerate(items) if item["article"] in fold]
        test = [i for i, item in enumerate(items) if item["article"] not in fold]
        ranker = fit([X[i] for i in train], [items[i] for i in train], names, C=C)
        for key, values in score(ranker, [X[i] for i in test], [items[i] for i in test], no_answer).items():
            pooled[key].extend(values)
    return {key: float(np.mean(values)) for key, values in pooled.items()}


def show(name: str, figures: dict[str, float]) -> str:
    return (f"{name:<28} top sentence holds the answer {figures['top1']:.3f} (top 3: {figures['top3']:.3f}) | "
            f"never abstaining: contains_gold {figures['contains_gold']:.3f} F1 {figures['f1']:.3f} "
            f"EM {figures['em']:.3f} | shipped no-answer model: contains_gold {figures['answered_contains_gold']:.3f} "
            f"F1 {figures['answered_f1']:.3f} EM {figures['answered_em']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad", type=Path, default=REPO.parent / "shared" / "eval" / "squad2-dev-public.json")
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
    no_answer = NoAnswerModel.load()
    n_candidates = sum(len(item["candidates"]) for item in items)
    print(f"{len(items)} answerable questions, {n_candidates} candidate sentences "
          f"({sum(c['label'] for item in items for c in item['candidates'])} hold a gold answer); "
          f"a gold answer is in some candidate for {np.mean([any(c['label'] for c in i['candidates']) for i in items]):.3f}")
    print("held out (article-level 2-fold CV):")
    baseline = {k: float(np.mean(v)) for k, v in score(COSINE_ONLY, X, items, no_answer).items()}
    print(show("similarity alone (before)", baseline))
    figures = held_out(X, items, no_answer)
    print(show("sentence ranker", figures))
    if args.ablate:
        for name in FEATURES:
            if name != "bias":
                without = held_out(X, items, no_answer, tuple(n for n in FEATURES if n != name))
                print(show(f"  without {name}", without))
    final = fit(X, items)
    final.save(args.out, about={
        "fitted_on": args.squad.name, "questions": len(items), "candidates": n_candidates,
        "held_out": {k: round(v, 4) for k, v in figures.items()},
        "similarity_alone": {k: round(v, 4) for k, v in baseline.items()}})
    print(f"wrote {args.out}: {final.weights}")


if __name__ == "__main__":
    main()
