"""The sentence-ranker fit: candidates recorded as the answerer sees them, the logistic fit, and its
held-out scoring."""
from __future__ import annotations

import numpy as np
import pytest

from eval import load_dataset
from eval.fitting.sentence_ranker import (COSINE_ONLY, candidate_features, collect_candidates, fit_ranker, held_out,
                                          score_ranker)
from rag import SENTENCE_FEATURES, SentenceRanker


def _items(n_articles: int = 4, per_article: int = 12) -> list[dict]:
    """Questions whose answer sentence is the most similar one three times in four."""
    rng = np.random.default_rng(1)
    items = []
    for a in range(n_articles):
        for q in range(per_article):
            similarity = rng.uniform(0.1, 0.6, size=5)
            gold = int(rng.integers(5))
            if q % 4:
                similarity[gold] = 0.9
            items.append({"article": f"article-{a}", "question": "When was the bridge opened?", "candidates": [
                {"text": f"Sentence {n} of question {q}.", "similarity": float(similarity[n]), "fused": 0.5,
                 "title": "Bridges", "label": n == gold} for n in range(5)]})
    return items


def test_scoring_counts_questions_whose_top_sentences_hold_an_answer():
    items = _items()
    X = [candidate_features(item) for item in items]
    scored = score_ranker(COSINE_ONLY, X, items)
    assert set(scored) == {"top1", "top3", "top4"} and all(len(v) == len(items) for v in scored.values())
    best = [max(range(5), key=lambda n: item["candidates"][n]["similarity"]) for item in items]
    assert scored["top1"] == [float(item["candidates"][b]["label"]) for item, b in zip(items, best, strict=True)]
    assert np.mean(scored["top1"]) <= np.mean(scored["top3"]) <= np.mean(scored["top4"])


def test_the_fit_learns_what_holds_the_answer_and_is_scored_on_other_articles():
    items = _items()
    X = [candidate_features(item) for item in items]
    ranker = fit_ranker(X, items, ("cosine", "bias"))
    assert set(ranker.weights) == {"cosine", "bias"} and ranker.weights["cosine"] > 0
    assert set(fit_ranker(X, items).weights) == set(SENTENCE_FEATURES)
    figures = held_out(X, items, ("cosine", "bias"))
    assert figures["top1"] == pytest.approx(0.75, abs=0.05)  # what similarity alone gets: 3 in 4


def test_candidates_are_recorded_as_the_answerer_sees_them(pipeline, squad_file):
    dataset = load_dataset(squad_file)
    pipeline.ingest_documents(list(dataset.documents))
    answerer = pipeline.answerer
    items = collect_candidates(pipeline, dataset.examples)
    assert pipeline.answerer is answerer  # put back
    assert [i["id"] for i in items] == [e.qid for e in dataset.examples if e.answerable]
    for item in items:
        assert item["candidates"] and len(item["fused"]) == 2
        for c in item["candidates"]:
            assert c["label"] == any(a.lower() in c["text"].lower() for a in item["answers"])
    assert sum(c["label"] for i in items for c in i["candidates"]) >= len(items)  # every answer is in some sentence
    assert isinstance(fit_ranker([candidate_features(i) for i in items], items), SentenceRanker)
