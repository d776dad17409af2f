"""Hybrid fusion: the pool, the exact best-sentence signal, and the weighted standardized sum."""
from __future__ import annotations

import numpy as np
import pytest

from rag.retrieve import SIGNALS, Retriever, fuse, fusion_weights


@pytest.fixture
def indexed(pipeline, tmp_path):
    topics = ["volcanoes erupt lava and ash", "glaciers carve valleys slowly", "bees pollinate orchard flowers",
              "tides follow the moon", "comets grow tails near the sun", "rivers deposit silt in deltas"]
    for n, topic in enumerate(topics):
        pipeline.ingest_record({"id": f"doc-{n}", "text": f"This note is about {topic}. It has a second sentence "
                                                         f"on number {n}. A third one closes it."})
    return pipeline


def test_every_pooled_chunk_gets_its_best_sentence_similarity_exactly(indexed):
    snapshot = indexed.directory.snapshot()
    question = "Which insects pollinate flowers in an orchard?"
    vector = indexed.embedder.encode_queries([question])[0]
    pool, raw = Retriever().pool(snapshot, question, vector, k=5)
    assert set(raw) == set(SIGNALS) and all(len(v) == len(pool) for v in raw.values())
    sentences = snapshot.sentences(pool)
    expected = [float((sentences[c][1] @ vector).max()) for c in pool]
    assert np.allclose(raw["sentence"], expected, atol=1e-6)


def test_the_fused_ranking_puts_the_matching_note_first_in_every_mode(indexed):
    for mode in ("hybrid", "dense", "bm25"):
        passages = indexed.retrieve("bees pollinate orchard flowers", k=3, mode=mode)
        assert "bees pollinate" in passages[0].text, mode


def test_fuse_standardizes_each_signal_and_weights_it():
    raw = {"dense": np.array([0.1, 0.2, 0.3]), "sentence": np.array([5.0, 5.0, 5.0]),
           "lexical": np.array([30.0, 0.0, 0.0])}
    z_dense = (raw["dense"] - raw["dense"].mean()) / raw["dense"].std()
    z_lexical = (raw["lexical"] - raw["lexical"].mean()) / raw["lexical"].std()
    # A constant signal tells the candidates nothing apart, so it adds nothing.
    assert np.allclose(fuse(raw, {"dense": 1.0, "sentence": 9.0, "lexical": 1.0}), z_dense + z_lexical)
    assert np.allclose(fuse(raw, {"dense": 2.0, "sentence": 1.0, "lexical": 0.5}), 2 * z_dense + 0.5 * z_lexical)


def test_weights_must_name_every_signal():
    assert Retriever().weights == fusion_weights()
    with pytest.raises(ValueError, match="signals"):
        Retriever(weights={"dense": 1.0, "lexical": 1.0})
