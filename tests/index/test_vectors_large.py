"""The large-collection vector index (IVF + SQ8), checked against brute-force numpy."""
from __future__ import annotations

import numpy as np
import pytest

from index.vectors import IvfSq8Index, create_vector_index, load_vector_index


def clustered_unit(n: int, d: int, seed: int, *, centers: int = 40) -> np.ndarray:
    """Unit vectors around a few centres: structured like embeddings, unlike uniform noise."""
    rng = np.random.default_rng(seed)
    middle = rng.standard_normal((centers, d)).astype(np.float32)
    v = middle[rng.integers(0, centers, n)] + 0.6 * rng.standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def brute_force(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    return ids[np.argsort(-(queries @ vectors.T), axis=1, kind="stable")[:, :k]]


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(e)) / len(e) for f, e in zip(found, exact, strict=True)]))


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    vectors = clustered_unit(6000, 32, 1)
    return vectors, np.arange(10_000, 16_000, dtype=np.int64), clustered_unit(50, 32, 1)[:50] * 0.999


def trained_index(vectors: np.ndarray, ids: np.ndarray, **options: int) -> IvfSq8Index:
    index = create_vector_index("ivf-sq8", vectors.shape[1], train_at=2000, **options)
    for start in range(0, len(ids), 500):  # a document at a time, as the writer adds
        index.add(ids[start:start + 500], vectors[start:start + 500])
    return index


def test_exact_until_it_holds_enough_to_train(data):
    vectors, ids, queries = data
    index = create_vector_index("ivf-sq8", 32, train_at=2000)
    index.add(ids[:1999], vectors[:1999])
    assert not index.trained and len(index) == 1999
    scores, found = index.search(queries, 10)
    np.testing.assert_array_equal(found, brute_force(vectors[:1999], ids[:1999], queries, 10))
    index.add(ids[1999:2000], vectors[1999:2000])
    assert index.trained and len(index) == 2000


def test_trained_search_finds_the_true_neighbours(data):
    vectors, ids, queries = data
    index = trained_index(vectors, ids)
    assert index.trained and len(index) == 6000
    exact = brute_force(vectors, ids, queries, 10)
    _, found = index.search(queries, 10)
    assert recall(found, exact) >= 0.9
    # Visiting every cell leaves only the 8-bit quantization error: scores within 1e-2 of exact.
    index.nprobe = index.nlist
    scores, found = index.search(queries, 10)
    assert recall(found, exact) >= 0.97
    exact_scores = np.sort(queries @ vectors.T, axis=1)[:, ::-1][:, :10]
    np.testing.assert_allclose(scores, exact_scores, atol=1e-2)


def test_more_cells_visited_never_lowers_recall(data):
    vectors, ids, queries = data
    index = trained_index(vectors, ids)
    exact = brute_force(vectors, ids, queries, 10)
    recalls = []
    for nprobe in (1, 4, index.nlist):
        index.nprobe = nprobe
        recalls.append(recall(index.search(queries, 10)[1], exact))
    assert recalls == sorted(recalls) and recalls[0] < recalls[-1]


def test_delete_ids(data):
    vectors, ids, queries = data
    index = trained_index(vectors, ids)
    gone = ids[:100]
    index.delete(gone)
    assert len(index) == 5900 and index.trained
    assert set(index.ids().tolist()) == set(ids[100:].tolist())
    index.nprobe = index.nlist
    _, found = index.search(vectors[:100], 5)
    assert not set(found.ravel().tolist()) & set(gone.tolist())


def test_save_load_round_trip_keeps_results_and_nprobe(tmp_path, data):
    vectors, ids, queries = data
    index = trained_index(vectors, ids, nprobe=8)
    index.save(tmp_path / "v.faiss")
    loaded = load_vector_index("ivf-sq8", tmp_path / "v.faiss")
    assert loaded.trained and loaded.nprobe == 8 and len(loaded) == 6000
    np.testing.assert_array_equal(loaded.search(queries, 10)[1], index.search(queries, 10)[1])
    assert sorted(loaded.ids().tolist()) == sorted(ids.tolist())


def test_untrained_round_trip_and_empty_search(tmp_path):
    index = create_vector_index("ivf-sq8", 8)
    scores, found = index.search(np.ones(8, dtype=np.float32), 5)
    assert scores.shape == (1, 0) and found.shape == (1, 0)
    vectors = clustered_unit(30, 8, 3)
    index.add(np.arange(30, dtype=np.int64), vectors)
    index.save(tmp_path / "v.faiss")
    loaded = load_vector_index("ivf-sq8", tmp_path / "v.faiss")
    assert not loaded.trained
    np.testing.assert_array_equal(loaded.search(vectors[:3], 4)[1], index.search(vectors[:3], 4)[1])


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="ivf-sq8"):
        create_vector_index("hnsw", 8)


def test_wrong_shape_is_refused():
    index = create_vector_index("ivf-sq8", 8)
    with pytest.raises(ValueError):
        index.add(np.arange(3, dtype=np.int64), np.zeros((3, 4), dtype=np.float32))


def test_an_index_directory_built_with_ivf_sq8_ingests_answers_deletes_and_checks(tmp_path, fake_embedder):
    from index import IndexDirectory, IndexSettings
    from rag import Pipeline
    from rag.chunking import ChunkingConfig

    chunking = ChunkingConfig()
    settings = IndexSettings(model_name=fake_embedder.name, model_sha256=fake_embedder.sha256,
                             dimension=fake_embedder.dimension, tokenizer=chunking.tokenizer,
                             chunking=chunking.to_dict(), vector_index="ivf-sq8")
    pipeline = Pipeline(IndexDirectory.open(tmp_path / "index", settings), fake_embedder)
    records = [{"id": f"d{i}", "text": f"Document {i} is about the {word} of the valley."}
               for i, word in enumerate(["river", "mountain", "forest", "village"])]
    path = tmp_path / "docs.jsonl"
    path.write_text("\n".join(__import__("json").dumps(r) for r in records), encoding="utf-8")
    pipeline.ingest([path])
    pipeline.delete("d0")
    reopened = Pipeline.open(tmp_path / "index", embedder=fake_embedder, create=False)
    assert reopened.directory.settings.vector_index == "ivf-sq8"  # the index keeps its kind
    assert reopened.check().ok
    assert [p.citation.doc_id for p in reopened.retrieve("the forest of the valley", k=1, mode="dense")] == ["d2"]
