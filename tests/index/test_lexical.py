from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from index.lexical import Bm25Index, tokenize

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "Foxes are quick and clever animals.",
    "Dogs and cats are common pets at home.",
    "A lazy afternoon with the dog in the garden.",
    "Stock markets fell sharply on Monday.",
]


def reference_bm25(texts: list[str], query: str, *, k1: float, b: float) -> np.ndarray:
    """Lucene BM25, written out plainly: idf = ln(1 + (N - df + 0.5) / (df + 0.5))."""
    docs = [Counter(tokenize(t)) for t in texts]
    lengths = np.array([sum(d.values()) for d in docs], dtype=float)
    avg = lengths.mean()
    scores = np.zeros(len(docs))
    for term in set(tokenize(query)):
        df = sum(1 for d in docs if term in d)
        if df == 0:
            continue
        idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
        for i, d in enumerate(docs):
            tf = d[term]
            scores[i] += idf * tf / (tf + k1 * (1 - b + b * lengths[i] / avg))
    return scores


@pytest.mark.parametrize("query", ["quick fox", "lazy dog", "pets at home", "markets Monday fox"])
def test_scores_match_a_reference_implementation(query):
    index = Bm25Index(k1=1.2, b=0.75)
    ids = np.arange(100, 100 + len(TEXTS), dtype=np.int64)
    index.build(ids, TEXTS)
    scores, found = index.search(query, len(TEXTS))
    expected = reference_bm25(TEXTS, query, k1=1.2, b=0.75)
    got = np.zeros(len(TEXTS))
    got[found - 100] = scores
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    assert list(found) == sorted(found.tolist(), key=lambda i: -expected[i - 100])


def test_stemming_and_stopwords():
    assert tokenize("The foxes and the jumping") == ["fox", "jump"]


def test_query_without_known_terms_finds_nothing():
    index = Bm25Index()
    index.build(np.arange(len(TEXTS)), TEXTS)
    scores, ids = index.search("the of and", 3)
    assert len(ids) == 0
    assert len(index.search("zebra", 3)[1]) == 0


def test_save_load_round_trip(tmp_path):
    index = Bm25Index(k1=0.9, b=0.4)
    index.build(np.arange(5, 10), TEXTS)
    index.save(tmp_path / "bm25")
    loaded = Bm25Index.load(tmp_path / "bm25")
    assert (loaded.k1, loaded.b) == (0.9, 0.4)
    np.testing.assert_array_equal(loaded.search("lazy dog", 3)[1], index.search("lazy dog", 3)[1])


def test_empty_index_round_trips(tmp_path):
    index = Bm25Index()
    index.build(np.zeros(0, dtype=np.int64), [])
    index.save(tmp_path / "bm25")
    assert len(Bm25Index.load(tmp_path / "bm25").search("anything", 3)[1]) == 0
