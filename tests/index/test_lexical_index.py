"""The in-memory lexical index ranks and scores as SQLite FTS5's bm25() did, through every change."""
from __future__ import annotations

import math
import random
import sqlite3

import numpy as np
import pytest

from index.lexical_index import LexicalIndex, analyze, query_terms

WORDS = ("harbour ferry ferries island islands northern dawn orchard apple apples pickers september library maps "
         "coast reading room opens nine café naïve résumé running runs runner the of and a to in is").split()


def _corpus(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 40))) for _ in range(n)]


def _fts5(bodies: dict[int, str]) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE f USING fts5(body, tokenize='porter unicode61 remove_diacritics 2')")
    db.executemany("INSERT INTO f (rowid, body) VALUES (?, ?)", bodies.items())
    return db


def _fts5_top(db: sqlite3.Connection, terms: list[str], k: int) -> list[tuple[int, float]]:
    query = " OR ".join(f'"{t}"' for t in terms)
    return [(r[0], -r[1]) for r in db.execute("SELECT rowid, bm25(f) FROM f WHERE f MATCH ? ORDER BY bm25(f), rowid "
                                              "LIMIT ?", (query, k))]


def _assert_same(index: LexicalIndex, db: sqlite3.Connection, question: str, k: int = 10) -> None:
    terms = query_terms(question)
    scores, ids = index.search(terms, k)
    expected = _fts5_top(db, terms, k)
    assert ids.tolist() == [i for i, _ in expected], question
    assert np.allclose(scores, [s for _, s in expected], rtol=1e-5), question


QUESTIONS = ("When do ferries leave for the northern islands?", "apple pickers in September", "naive resume cafe",
             "Which runner runs?", "library maps of the coast", "reading room")


def test_scores_and_ranking_are_those_of_fts5_bm25():
    bodies = dict(enumerate(_corpus(300), start=1))
    index = LexicalIndex()
    index.add(np.array(list(bodies)), list(bodies.values()))
    db = _fts5(bodies)
    for question in QUESTIONS:
        _assert_same(index, db, question)


def test_stay_those_of_fts5_through_additions_in_batches_removals_compaction_and_a_save(tmp_path):
    bodies = dict(enumerate(_corpus(400, seed=1), start=1))
    ids = list(bodies)
    index = LexicalIndex()
    for start in range(0, 400, 40):  # ten segments: more than are kept before merging
        batch = ids[start:start + 40]
        index.add(np.array(batch), [bodies[i] for i in batch])
    removed = random.Random(2).sample(ids, 60)
    index.remove(np.array(removed + [10_000]))  # an unknown id is ignored
    kept = {i: b for i, b in bodies.items() if i not in set(removed)}
    db = _fts5(kept)
    assert len(index) == len(kept)
    for question in QUESTIONS:
        _assert_same(index, db, question)
    index.compact()
    for question in QUESTIONS:
        _assert_same(index, db, question)
    index.save(tmp_path / "lexical.npz")
    loaded = LexicalIndex.load(tmp_path / "lexical.npz")
    for question in QUESTIONS:
        _assert_same(loaded, db, question)
    assert sorted(loaded.chunk_ids().tolist()) == sorted(kept)


def test_allowed_chunks_rank_as_an_index_of_only_them():
    bodies = dict(enumerate(_corpus(200, seed=3), start=1))
    index = LexicalIndex()
    index.add(np.array(list(bodies)), list(bodies.values()))
    allowed = np.array(sorted(random.Random(4).sample(list(bodies), 20)))
    for question in QUESTIONS:
        scores, ids = index.search(query_terms(question), 50, allowed)
        assert set(ids.tolist()) <= set(allowed.tolist())
        everything = dict(zip(*index.search(query_terms(question), 1000)[::-1], strict=True))
        assert np.allclose(scores, [everything[i] for i in ids.tolist()])  # statistics of the whole index
        assert list(scores) == sorted(scores, reverse=True)


def test_analysis_folds_accents_splits_on_underscores_and_counts_stop_words_in_the_length():
    terms, length = analyze("The Café_naïve RUNNING of résumés")
    assert terms == ["cafe", "naiv", "run", "resum"] and length == 6
    assert query_terms("the the ferry ferries") == ["ferri"]
    assert query_terms("the of and") == []


def test_ids_must_grow_and_an_empty_index_finds_nothing():
    index = LexicalIndex()
    assert index.search(["ferri"], 5)[1].tolist() == []
    index.add(np.array([5, 3]), ["ferry one", "ferry two"])
    with pytest.raises(ValueError, match="must grow"):
        index.add(np.array([4]), ["ferry three"])
    assert index.search(["ferri"], 0)[1].tolist() == []
    assert sorted(index.search(["ferri"], 5)[1].tolist()) == [3, 5]


def test_the_top_k_are_the_best_of_every_matching_chunk():
    """Only the best postings' slots are kept as candidates: the top k are still the best of every chunk
    that matches, on Zipf-distributed words (a few very common ones, many rare), with removals and
    allowed subsets, against scores computed one chunk at a time."""
    rng = random.Random(5)
    vocabulary = [f"w{i}" for i in range(400)]
    weights = [1 / (rank + 1) for rank in range(400)]
    bodies = {i: " ".join(rng.choices(vocabulary, weights, k=rng.randint(5, 60))) for i in range(1, 3_001)}
    index = LexicalIndex()
    for start in range(1, 3_001, 500):
        index.add(np.arange(start, start + 500), [bodies[i] for i in range(start, start + 500)])
    removed = set(rng.sample(sorted(bodies), 200))
    index.remove(np.array(sorted(removed)))
    live = {i: analyze(text) for i, text in bodies.items() if i not in removed}
    average = sum(n for _, n in live.values()) / len(live)
    for trial in range(60):
        terms = query_terms(" ".join(rng.choices(vocabulary, weights, k=rng.randint(1, 8))))
        k = rng.choice([1, 5, 10, 50])
        allowed = sorted(rng.sample(sorted(bodies), 300)) if trial % 3 == 0 else None
        scores, ids = index.search(terms, k, None if allowed is None else np.array(allowed))
        df = {t: sum(t in words for words, _ in live.values()) for t in terms}
        expected = []
        for i, (words, length) in live.items():
            if allowed is not None and i not in allowed:
                continue
            score = sum(max(math.log((len(live) - df[t] + 0.5) / (df[t] + 0.5)), 1e-6) * words.count(t) * 2.2
                        / (words.count(t) + 1.2 * (0.25 + 0.75 * length / average)) for t in terms if t in words)
            if score:
                expected.append(score)
        assert np.allclose(scores, sorted(expected, reverse=True)[:k]), (terms, k)
