"""An ``auto`` index searches exactly until it is large, then moves to IVF-SQ8 in the background, checked."""
from __future__ import annotations

import time

import numpy as np
import pytest

import index.vector_switch as vector_switch
from domain.types import Chunk, Document
from index import IndexDirectory, IndexSettings
from index.vectors import FaissIndex, IvfSq8Index

DIM = 32
SETTINGS = IndexSettings(model_name="m", model_sha256="abc", dimension=DIM, tokenizer="tok", vector_index="auto",
                         chunking={"chunk_tokens": 10, "overlap_tokens": 0, "tokenizer": "tok"})


def _clustered(n: int, seed: int) -> np.ndarray:
    """Unit vectors around 40 centres: the neighbourhood structure real embeddings have."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((40, DIM)).astype(np.float32)
    vectors = centres[rng.integers(0, 40, n)] + 0.35 * rng.standard_normal((n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _write(directory: IndexDirectory, start: int, vectors: np.ndarray) -> None:
    with directory.writer() as writer:
        for i, vector in enumerate(vectors, start=start):
            text = f"document number {i}"
            doc = Document(doc_id=f"d{i}", text=text, source="s", title=f"d{i}")
            chunk = Chunk(doc_id=doc.doc_id, ordinal=0, char_start=0, char_end=len(text), text=text, n_tokens=3)
            writer.put(doc, f"h{i}", [chunk], vector[None, :], [[(0, len(text))]], [vector[None, :]])
        writer.commit()


def _wait_for(condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the switch did not happen in time"
        time.sleep(0.05)


@pytest.fixture
def small_switch(monkeypatch):
    monkeypatch.setattr(vector_switch, "SWITCH_AT", 3_000)


def test_exact_below_the_size_then_approximate_past_it_with_the_recall_checked(tmp_path, small_switch):
    directory = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    vectors = _clustered(4_000, seed=1)
    _write(directory, 0, vectors[:2_000])
    live = directory.snapshot()._live
    assert isinstance(live._vectors, FaissIndex) and live.describe()["exact"]
    _write(directory, 2_000, vectors[2_000:3_500])
    directory.snapshot()  # catches up: past the size, the build starts in the background
    _wait_for(lambda: live.switched is not None)
    assert live.switched.recall_at_10 >= vector_switch.RECALL_GOAL
    _write(directory, 3_500, vectors[3_500:])  # writes after the build are applied at the swap or after it
    snapshot = directory.snapshot()
    assert isinstance(live._vectors, IvfSq8Index) and live._vectors.trained
    assert sorted(live.ids().tolist()) == sorted(directory.snapshot().store.chunk_ids().tolist())
    assert len(live.ids()) == 4_000
    _, ids = snapshot.dense(vectors[3_900], 1)  # a vector written after the switch is found
    assert snapshot.chunks(ids.tolist())[int(ids[0])].doc_id == "d3900"
    described = live.describe(measure_recall=True)
    assert described["kind"] == "ivf-sq8" and described["recall@10"] >= vector_switch.RECALL_GOAL
    report = directory.check()
    assert report.ok and report.vectors["kind"] in ("flat", "ivf-sq8")


def test_a_saved_copy_keeps_the_approximate_index_for_the_next_process(tmp_path, small_switch):
    directory = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    _write(directory, 0, _clustered(3_200, seed=2))
    live = directory.snapshot()._live
    _wait_for(lambda: live.switched is not None)
    live.save()
    reopened = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    fresh = reopened.snapshot()._live
    assert isinstance(fresh._vectors, IvfSq8Index) and fresh.switched is None  # loaded, not rebuilt
    report = reopened.check()
    assert report.ok and report.vectors["kind"] == "ivf-sq8" and report.vectors["recall@10"] >= 0.9


def test_vectors_without_structure_stay_exact(tmp_path, small_switch):
    """Uniform random vectors have no neighbours an IVF index can find: the check refuses the switch."""
    directory = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    rng = np.random.default_rng(3)
    noise = rng.standard_normal((3_100, DIM)).astype(np.float32)
    _write(directory, 0, noise / np.linalg.norm(noise, axis=1, keepdims=True))
    live = directory.snapshot()._live
    _wait_for(lambda: live._retry_at > 0)
    assert isinstance(live._vectors, FaissIndex) and live.switched is None and live._retry_at == 6_200
