"""The in-memory sentence table answers exactly what the store does."""
from __future__ import annotations

import numpy as np

from rag import Pipeline
from rag.hash_embedder import HashEmbedder


def _pipeline(tmp_path, vector_index="flat"):
    pipeline = Pipeline.open(tmp_path / vector_index, embedder=HashEmbedder(), vector_index=vector_index)
    for n in range(12):
        pipeline.ingest_record({"id": f"d{n}", "text": " ".join(f"Sentence {i} of note {n} is here." for i in range(n + 1))})
    return pipeline


def test_the_table_matches_the_store_for_every_chunk_and_unknown_ids_are_left_out(tmp_path):
    snapshot = _pipeline(tmp_path).directory.snapshot()
    ids = snapshot.store.chunk_ids().tolist()
    from_store = snapshot.store.sentences(ids, snapshot.settings.dimension)
    from_table = snapshot.sentences([*ids, 10**9])
    assert set(from_table) == set(from_store) == set(ids)
    for chunk_id, (spans, vectors) in from_store.items():
        assert from_table[chunk_id][0] == spans
        np.testing.assert_array_equal(from_table[chunk_id][1], vectors)
    assert snapshot.sentences([]) == {}


def test_the_table_follows_writes(tmp_path):
    pipeline = _pipeline(tmp_path)
    before = pipeline.directory.snapshot()
    d3 = [c.chunk_id for c in before.document_chunks("d3")]
    assert set(before.sentences(before.store.chunk_ids().tolist())) >= set(d3)  # loads the table
    pipeline.ingest_record({"id": "late", "text": "A late arrival. With two sentences."})
    pipeline.delete("d3")
    after = pipeline.directory.snapshot()
    late = [c.chunk_id for c in after.document_chunks("late")]
    assert len(after.sentences(late)[late[0]][0]) == 2
    assert d3 and after.sentences(d3) == {}
    ids = after.store.chunk_ids().tolist()
    assert set(after.sentences(ids)) == set(ids)


def test_large_collection_indexes_read_sentences_from_the_store(tmp_path):
    snapshot = _pipeline(tmp_path, "ivf-sq8").directory.snapshot()
    ids = snapshot.store.chunk_ids().tolist()
    assert set(snapshot.sentences(ids)) == set(ids)
    assert snapshot._live._sentences is None
