from __future__ import annotations

import os

import numpy as np

from index.vectors import FaissIndex, create_vector_index


def random_unit(n: int, d: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def brute_force(vectors: np.ndarray, ids: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    return ids[np.argsort(-(vectors @ query), kind="stable")[:k]]


def test_flat_search_matches_brute_force_numpy():
    vectors, ids = random_unit(500, 32, 1), np.arange(1000, 1500, dtype=np.int64)
    index = create_vector_index("flat", 32)
    index.add(ids, vectors)
    for query in random_unit(20, 32, 2):
        scores, found = index.search(query, 10)
        np.testing.assert_array_equal(found[0], brute_force(vectors, ids, query, 10))
        np.testing.assert_allclose(scores[0], np.sort(vectors @ query)[::-1][:10], rtol=1e-5)


def test_delete_removes_only_those_ids():
    vectors, ids = random_unit(50, 16, 3), np.arange(50, dtype=np.int64)
    index = create_vector_index("flat", 16)
    index.add(ids, vectors)
    index.delete(np.array([0, 1, 2], dtype=np.int64))
    assert len(index) == 47
    assert set(index.ids().tolist()) == set(range(3, 50))
    _, found = index.search(vectors[0], 50)
    assert 0 not in found[0]


def test_save_load_round_trip(tmp_path):
    vectors, ids = random_unit(40, 8, 4), np.arange(7, 47, dtype=np.int64)
    index = create_vector_index("flat", 8)
    index.add(ids, vectors)
    index.save(tmp_path / "v.faiss")
    loaded = FaissIndex.load(tmp_path / "v.faiss")
    query = random_unit(1, 8, 5)[0]
    np.testing.assert_array_equal(loaded.search(query, 5)[1], index.search(query, 5)[1])


def test_empty_index_searches_to_nothing():
    scores, ids = create_vector_index("flat", 8).search(np.ones(8, dtype=np.float32), 5)
    assert scores.shape == (1, 0) and ids.shape == (1, 0)


def test_a_search_from_any_thread_runs_on_one_openmp_thread():
    # OpenMP keeps its thread count per calling thread: a server's worker threads start with every core.
    import threading

    import faiss

    for kind in ("flat", "ivf-sq8"):
        index = create_vector_index(kind, 16)
        index.add(np.arange(50, dtype=np.int64), random_unit(50, 16, 4))
        seen = []

        def search_in_a_new_thread():
            before = faiss.omp_get_max_threads()
            index.search(random_unit(1, 16, 5)[0], 5)
            seen.append((before, faiss.omp_get_max_threads()))

        thread = threading.Thread(target=search_in_a_new_thread)
        thread.start()
        thread.join()
        before, after = seen[0]
        assert after == 1, kind
        if (os.cpu_count() or 1) > 1 and not os.environ.get("OMP_NUM_THREADS"):
            assert before > 1, kind  # the thread did start with every core: the search is what set it to one
