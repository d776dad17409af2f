"""The fusion-weight fit: ranks under given weights, the grid search, held-out halves, and collecting
pools from a real index."""
from __future__ import annotations

import numpy as np
import pytest

from eval import load_dataset
from eval.fitting.fusion import GRID, MISSING, Pool, best_weights, collect_pools, figures, fit_fusion, ranks
from rag import FUSION_SIGNALS


def _pool(article: str, gold: str, docs: list[str], dense, sentence, lexical) -> Pool:
    return Pool(article, frozenset({gold}), docs, {"dense": np.array(dense, float), "sentence": np.array(sentence, float),
                                                   "lexical": np.array(lexical, float)})


def test_ranks_follow_the_weights_and_count_a_document_once():
    # the gold document leads on the sentence signal only; "x" holds two chunks
    pool = _pool("A", "g", ["x", "x", "g"], dense=[3, 2, 1], sentence=[0, 0, 5], lexical=[1, 1, 1])
    assert ranks([pool], {"dense": 1.0, "sentence": 0.0, "lexical": 1.0}).tolist() == [2]  # x, then g
    assert ranks([pool], {"dense": 0.25, "sentence": 2.0, "lexical": 1.0}).tolist() == [1]
    missing = _pool("A", "g", ["x", "y"], dense=[1, 0], sentence=[1, 0], lexical=[1, 0])
    assert ranks([missing], dict.fromkeys(FUSION_SIGNALS, 1.0)).tolist() == [MISSING]


def test_figures_are_recall_and_reciprocal_rank():
    assert figures(np.array([1, 2, 6, MISSING])) == {"recall@1": 0.25, "recall@5": 0.5,
                                                      "mrr@10": pytest.approx((1 + 0.5 + 1 / 6) / 4)}


def _pools(n_articles: int = 6) -> list[Pool]:
    """Questions whose gold chunk the sentence signal finds and the dense signal misleads on."""
    rng = np.random.default_rng(0)
    pools = []
    for a in range(n_articles):
        for q in range(5):
            docs = [f"{a}-{q}-{d}" for d in range(8)]
            gold = int(rng.integers(8))
            dense = rng.normal(size=8)
            sentence = rng.normal(size=8)
            sentence[gold] += 3.0
            pools.append(_pool(f"article-{a}", docs[gold], docs, dense, sentence, rng.normal(size=8)))
    return pools


def test_the_grid_search_prefers_the_informative_signal_and_is_scored_held_out():
    pools = _pools()
    assert best_weights(pools) == {"dense": 0.25, "sentence": 2.0, "lexical": 1.0}
    fit = fit_fusion(pools, splits=2, seed=0)
    assert len(fit.per_split) == 4 and all(w in GRID for w in fit.per_split)
    assert fit.weights == best_weights(pools)
    assert fit.held_out["recall@1"] > fit.held_out_equal_weights["recall@1"]
    assert fit.in_sample == figures(ranks(pools, fit.weights))


def test_pools_are_collected_as_the_pipeline_retrieves(pipeline, squad_file):
    dataset = load_dataset(squad_file)
    pipeline.ingest_documents(list(dataset.documents))
    pools = collect_pools(pipeline, dataset.examples)
    assert len(pools) == dataset.n_answerable
    for pool, example in zip(pools, [e for e in dataset.examples if e.answerable], strict=True):
        assert pool.gold == frozenset(example.gold_doc_ids) and pool.article == example.gold_doc_ids[0].split("#")[0]
        assert set(pool.raw) == set(FUSION_SIGNALS) and all(len(v) == len(pool.docs) for v in pool.raw.values())
        assert pool.gold & set(pool.docs)  # four paragraphs: every one is in the pool
