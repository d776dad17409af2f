"""``check`` finds every way the parts of an index can disagree; ``repair`` rebuilds them from the documents and chunks."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from domain.errors import IndexCorruptError
from index.directory import MANIFEST
from rag import Pipeline
from rag.hash_embedder import HashEmbedder

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


def _saved_copy(root: Path) -> Path:
    Pipeline.open(root, embedder=HashEmbedder()).repair()  # writes a saved copy of the vectors
    [path] = root.glob("vectors-*.faiss")
    return path


def _damage_saved_vectors_truncated(root: Path) -> None:
    path = _saved_copy(root)
    path.write_bytes(path.read_bytes()[:40])


def _damage_saved_vectors_missing_a_chunk(root: Path) -> None:
    from index.vectors import FaissIndex

    path = _saved_copy(root)
    vectors = FaissIndex.load(path)
    vectors.delete(vectors.ids()[:1])
    vectors.save(path)


def _sql(root: Path, *statements: str) -> None:
    db = sqlite3.connect(root / "store.sqlite")
    for statement in statements:
        db.execute(statement)
    db.commit()
    db.close()


def _damage_saved_lexical_missing_a_chunk(root: Path) -> None:
    from index.lexical_index import LexicalIndex

    _saved_copy(root)
    [path] = root.glob("lexical-*.npz")
    lexical = LexicalIndex.load(path)
    lexical.remove(lexical.chunk_ids()[:1])
    lexical.save(path)


def _damage_saved_lexical_truncated(root: Path) -> None:
    _saved_copy(root)
    [path] = root.glob("lexical-*.npz")
    path.write_bytes(path.read_bytes()[:100])


def _damage_counts(root: Path) -> None:
    _sql(root, "UPDATE meta SET value = value + 2 WHERE key = 'documents'")


@pytest.mark.parametrize(("damage", "expected"), [
    (_damage_saved_vectors_truncated, "cannot be read"),
    (_damage_saved_vectors_missing_a_chunk, "the vectors lack 1 stored chunks"),
    (_damage_saved_lexical_missing_a_chunk, "the lexical index lacks 1 stored chunks"),
    (_damage_saved_lexical_truncated, "the saved lexical index lexical-"),
    (_damage_counts, "the store counts 5 documents"),
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
    assert len(list(root.glob("vectors-*.faiss"))) == len(list(root.glob("lexical-*.npz"))) == 1


def test_check_sees_damage_on_disk_even_when_a_snapshot_is_cached(tmp_path):
    root = tmp_path / "index"
    pipeline = _build(root)
    assert pipeline.check().ok
    _damage_saved_lexical_missing_a_chunk(root)
    assert not pipeline.check().ok


def test_an_unreadable_store_is_reported_and_repair_refuses_with_the_reason(tmp_path):
    root = tmp_path / "index"
    _build(root)
    for leftover in root.glob("store.sqlite-*"):
        leftover.unlink()
    (root / "store.sqlite").write_bytes(b"not a database at all" * 100)
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
