"""``check`` finds every way the derived parts can disagree with the store; ``repair`` rebuilds them."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from index.directory import MANIFEST
from rag import Pipeline
from rag.errors import IndexCorruptError
from rag.hash_embedder import HashEmbedder
from tests.index.old_format import write_old_sentence_index

TEXTS = {
    "harbour": "The harbour master logs every ship. Ferries leave at dawn for the northern islands.",
    "orchard": "The orchard grows seven kinds of apple. Pickers arrive in September each year.",
    "library": "The library lends maps of the coast. Its reading room opens at nine.",
}


def _build(root: Path) -> Pipeline:
    pipeline = Pipeline.open(root, embedder=HashEmbedder())
    for doc_id, text in TEXTS.items():
        pipeline.ingest_record({"id": doc_id, "text": text})
    return pipeline


def _generation_dir(root: Path) -> Path:
    generation = json.loads((root / MANIFEST).read_text())["generation"]
    return root / f"gen-{generation:06d}"


def _damage_faiss_missing(root: Path) -> None:
    (_generation_dir(root) / "vectors.faiss").unlink()


def _damage_faiss_truncated(root: Path) -> None:
    path = _generation_dir(root) / "vectors.faiss"
    path.write_bytes(path.read_bytes()[:40])


def _damage_bm25_missing(root: Path) -> None:
    shutil.rmtree(_generation_dir(root) / "bm25")


def _damage_bm25_stale(root: Path) -> None:
    import numpy as np

    ids_file = _generation_dir(root) / "bm25" / "chunk_ids.npy"
    np.save(ids_file, np.load(ids_file)[:-1])


def _damage_manifest_counts(root: Path) -> None:
    manifest = json.loads((root / MANIFEST).read_text())
    manifest["documents"] += 2
    (root / MANIFEST).write_text(json.dumps(manifest))


@pytest.mark.parametrize(("damage", "expected"), [
    (_damage_faiss_missing, "FAISS cannot be read"),
    (_damage_faiss_truncated, "FAISS cannot be read"),
    (_damage_bm25_missing, "BM25 cannot be read"),
    (_damage_bm25_stale, "BM25 lacks 1 stored chunks"),
    (_damage_manifest_counts, "manifest counts 5 documents"),
])
def test_check_reports_damage_and_repair_rebuilds_from_the_store(tmp_path, damage, expected):
    root = tmp_path / "index"
    _build(root)
    damage(root)
    # A fresh process's view: nothing cached from before the damage.
    reopened = Pipeline.open(root, embedder=HashEmbedder())
    report = reopened.check()
    assert not report.ok
    assert any(expected in problem for problem in report.problems), report.problems

    repaired = reopened.repair()
    assert repaired.ok, repaired.problems
    assert repaired.generation == report.generation + 1
    assert sorted(d.doc_id for d in reopened.documents()) == sorted(TEXTS)
    result = reopened.ask("When do ferries leave for the islands?")
    assert result.passages and result.passages[0].citation.doc_id == "harbour"
    assert [p.name for p in root.glob("gen-*")] == [f"gen-{repaired.generation:06d}"]


def test_check_sees_damage_on_disk_even_when_a_snapshot_is_cached(tmp_path):
    root = tmp_path / "index"
    pipeline = _build(root)
    assert pipeline.check().ok
    _damage_faiss_missing(root)
    assert not pipeline.check().ok


def test_an_unreadable_store_is_reported_and_repair_refuses_with_the_reason(tmp_path):
    root = tmp_path / "index"
    _build(root)
    (_generation_dir(root) / "store.sqlite").write_bytes(b"not a database at all" * 100)
    pipeline = Pipeline.open(root, embedder=HashEmbedder())
    report = pipeline.check()
    assert not report.ok and "store" in report.problems[0] and "source of truth" in report.problems[0]
    with pytest.raises(IndexCorruptError, match="source of truth"):
        pipeline.repair()


@pytest.mark.parametrize("name", ["what?index", "hash#index", "per%41cent", "spaced out é"])
def test_index_paths_with_uri_characters_work(tmp_path, name):
    # SQLite opens the store through a URI: unquoted, '?' and '#' cut the path short (and wrote
    # the database somewhere else entirely), '%41' was decoded to 'A'.
    pipeline = _build(tmp_path / name)
    assert pipeline.check().ok
    assert (tmp_path / name / MANIFEST).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
    assert len(Pipeline.open(tmp_path / name, embedder=HashEmbedder()).documents()) == 3


def test_an_index_with_the_old_sentence_faiss_files_still_opens_checks_and_answers(tmp_path):
    # Versions that searched a FAISS index over all sentences wrote two more files per generation.
    root = tmp_path / "index"
    _build(root)
    write_old_sentence_index(_generation_dir(root))
    reopened = Pipeline.open(root, embedder=HashEmbedder())
    assert reopened.check().ok
    result = reopened.ask("When do ferries leave for the islands?")
    assert result.passages and result.passages[0].citation.doc_id == "harbour"
