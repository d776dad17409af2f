"""The sentence ranker (``rag/models/sentence_ranker.json``): a logistic model of "this candidate
sentence holds a gold answer", fitted with held-out halves of articles.

Every answerable question is asked as the eval asks it (k=50, hybrid) and the candidate sentences the
answerer sees (the sentences of the top passages) are recorded, each labelled by whether it contains a
gold answer. The model is fitted on half the articles and scored on the other half, then swapped:
how often the top sentence (and the top 3 and 4, the reader's windows) holds a gold answer, beside
ordering by similarity alone. The shipped model is fitted on all the articles.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

from eval.datasets import QAExample
from eval.fitting.halves import split_items
from eval.fitting.recording import recording
from eval.metrics import contains_answer
from eval.runner import RETRIEVE_K
from rag import SENTENCE_FEATURES, Pipeline, SentenceRanker, sentence_features

__all__ = ["COSINE_ONLY", "TOPS", "collect_candidates", "candidate_features", "fit_ranker", "score_ranker",
           "held_out"]

COSINE_ONLY = SentenceRanker({"cosine": 1.0})
TOPS = {"top1": 1, "top3": 3, "top4": 4}


def collect_candidates(pipeline: Pipeline, examples: Iterable[QAExample], *, k: int = RETRIEVE_K) -> list[dict]:
    """The answerable ``examples`` with their candidate sentences under ``pipeline``'s retrieval (plain
    JSON, so a refit can reuse what was collected)."""
    def keep(answerer, question, vector, chunks, sentences, fused_scores):
        return answerer.candidates(vector, chunks, sentences, fused_scores=fused_scores), fused_scores[:2]

    items = []
    with recording(pipeline, keep) as recorder:
        for example in examples:
            if not example.answerable:
                continue
            pipeline.ask(example.question, k=k, mode="hybrid")
            found, fused = recorder.last
            items.append({
                "id": example.qid, "article": example.gold_doc_ids[0].rsplit("#", 1)[0], "question": example.question,
                "answers": list(example.answers), "fused": list(fused),
                "candidates": [{"text": text, "similarity": float(found.similarity[i]), "fused": float(found.fused[i]),
                                "title": found.chunks[i].title, "label": bool(contains_answer(text, example.answers))}
                               for i, text in enumerate(found.texts)]})
    return items


def candidate_features(item: dict) -> np.ndarray:
    c = item["candidates"]
    return sentence_features(item["question"], [x["text"] for x in c], similarity=np.array([x["similarity"] for x in c]),
                             fused=np.array([x["fused"] for x in c]), titles=[x["title"] for x in c])


def fit_ranker(X: Sequence[np.ndarray], items: Sequence[dict], names: Sequence[str] = SENTENCE_FEATURES, *,
               C: float = 1.0) -> SentenceRanker:
    """Logistic regression of "holds a gold answer" over the candidates of ``items`` (rows ``X``)."""
    from sklearn.linear_model import LogisticRegression

    columns = [SENTENCE_FEATURES.index(n) for n in names]
    rows = np.concatenate([x[:, columns] for x in X])
    labels = np.concatenate([[c["label"] for c in item["candidates"]] for item in items])
    model = LogisticRegression(C=C, max_iter=5000, fit_intercept=False).fit(rows, labels)
    return SentenceRanker({n: round(float(w), 5) for n, w in zip(names, model.coef_[0], strict=True)})


def score_ranker(ranker: SentenceRanker, X: Sequence[np.ndarray], items: Sequence[dict]) -> dict[str, list[float]]:
    """Per question: does the ranker's top sentence hold a gold answer; its top 3; its top 4."""
    out = defaultdict(list)
    for x, item in zip(X, items, strict=True):
        c = item["candidates"]
        order = np.argsort(-ranker.score(x), kind="stable") if c else np.zeros(0, dtype=int)
        for key, n in TOPS.items():
            out[key].append(float(any(c[i]["label"] for i in order[:n])))
    return out


def held_out(X: Sequence[np.ndarray], items: Sequence[dict], names: Sequence[str] = SENTENCE_FEATURES, *,
             C: float = 1.0) -> dict[str, float]:
    """Fit on each half's articles, score the other half's questions: the pooled means."""
    pooled = defaultdict(list)
    for fit_on, score_on in split_items(range(len(items)), lambda i: items[i]["article"]):
        ranker = fit_ranker([X[i] for i in fit_on], [items[i] for i in fit_on], names, C=C)
        for key, values in score_ranker(ranker, [X[i] for i in score_on], [items[i] for i in score_on]).items():
            pooled[key].extend(values)
    return {key: float(np.mean(values)) for key, values in pooled.items()}
