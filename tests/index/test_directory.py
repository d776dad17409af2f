from __future__ import annotations

import json

import numpy as np
import pytest

from index import IndexDirectory, IndexSettings
from index.directory import MANIFEST
from rag.errors import IndexMismatchError, IndexStoreError
from rag.types import Chunk, Document
from tests.index.old_format import write_old_sentence_index

SETTINGS = IndexSettings(model_name="m", model_sha256="abc", dimension=4, tokenizer="tok",
                         chunking={"chunk_tokens": 10, "overlap_tokens": 0, "tokenizer": "tok"})


def doc(doc_id: str, text: str) -> tuple:
    """A one-chunk, one-sentence document with its vectors, as Writer.put takes them."""
    d = Document(doc_id=doc_id, text=text, source=f"{doc_id}.txt", title=doc_id)
    chunks = [Chunk(doc_id=doc_id, ordinal=0, char_start=0, char_end=len(text), text=text, n_tokens=3)]
    vec = np.random.default_rng(sum(map(ord, doc_id))).standard_normal((1, 4)).astype(np.float32)
    vec /= np.linalg.norm(vec)
    return d, chunks, vec, [[(0, len(text))]], [vec]


def add(directory: IndexDirectory, doc_id: str, text: str) -> None:
    with directory.writer() as writer:
        d, chunks, vectors, sentences, sentence_vectors = doc(doc_id, text)
        writer.put(d, f"hash-{text}", chunks, vectors, sentences, sentence_vectors)
        writer.commit()


def test_new_index_has_a_manifest_and_an_empty_generation(tmp_path):
    directory = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    manifest = json.loads((tmp_path / "idx" / MANIFEST).read_text())
    assert manifest["generation"] == 0 and manifest["documents"] == 0
    assert manifest["settings"]["model_name"] == "m" and manifest["settings"]["dimension"] == 4
    assert directory.check().ok


def test_a_write_that_fails_midway_leaves_the_previous_state(tmp_path):
    directory = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    add(directory, "a", "alpha text")
    with pytest.raises(RuntimeError), directory.writer() as writer:
        writer.put(*doc("b", "beta text")[:1], "h", *doc("b", "beta text")[1:])
        writer.delete("a")
        raise RuntimeError("crash before commit")
    reopened = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    snapshot = reopened.snapshot()
    assert [i.doc_id for i in snapshot.documents()] == ["a"]
    assert reopened.check().ok
    assert sorted(p.name for p in (tmp_path / "idx").glob("gen-*")) == ["gen-000001"]


def test_leftovers_of_a_killed_writer_are_ignored_then_swept(tmp_path):
    directory = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    add(directory, "a", "alpha text")
    # What a writer killed before its manifest swap leaves behind: a half-written generation.
    (tmp_path / "idx" / "gen-000002").mkdir()
    (tmp_path / "idx" / "gen-000002" / "store.sqlite").write_bytes(b"partial")
    (tmp_path / "idx" / f"{MANIFEST}.999.tmp").write_text("{half")
    fresh = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    assert [i.doc_id for i in fresh.snapshot().documents()] == ["a"] and fresh.check().ok
    add(fresh, "b", "beta text")
    assert sorted(p.name for p in (tmp_path / "idx").glob("gen-*")) == ["gen-000002"]
    assert not list((tmp_path / "idx").glob("*.tmp"))
    assert {i.doc_id for i in fresh.snapshot().documents()} == {"a", "b"}


def test_readers_keep_their_generation_until_they_ask_again(tmp_path):
    directory = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    add(directory, "a", "alpha text")
    before = directory.snapshot()
    add(directory, "b", "beta text")
    assert [i.doc_id for i in before.documents()] == ["a"]
    assert len(directory.snapshot().documents()) == 2


def test_another_process_sees_new_commits(tmp_path):
    writer_side = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    reader_side = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    assert reader_side.snapshot().documents() == []
    add(writer_side, "a", "alpha text")
    assert [i.doc_id for i in reader_side.snapshot().documents()] == ["a"]


def test_check_finds_disagreement_and_repair_fixes_it(tmp_path):
    directory = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    add(directory, "a", "alpha text")
    add(directory, "b", "beta text")
    snapshot = directory.snapshot()
    # Damage the derived FAISS index on disk: drop one chunk from it.
    damaged = snapshot.vectors.copy()
    damaged.delete(snapshot.vectors.ids()[:1])
    damaged.save(tmp_path / "idx" / f"gen-{snapshot.generation:06d}" / "vectors.faiss")
    damaged_view = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    report = damaged_view.check()
    assert not report.ok and any("FAISS" in p for p in report.problems)
    assert damaged_view.repair().ok


def test_mismatched_model_or_schema_is_refused(tmp_path):
    IndexDirectory.open(tmp_path / "idx", SETTINGS)
    other = IndexSettings(model_name="m", model_sha256="zzz", dimension=4, tokenizer="tok", chunking={})
    with pytest.raises(IndexMismatchError, match="rebuild"):
        IndexDirectory.open(tmp_path / "idx", other)
    manifest = json.loads((tmp_path / "idx" / MANIFEST).read_text())
    manifest["schema_version"] = 99
    (tmp_path / "idx" / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="schema"):
        IndexDirectory.open(tmp_path / "idx", SETTINGS)


def test_opening_a_missing_index_without_create_is_an_error(tmp_path):
    with pytest.raises(IndexStoreError, match="no index"):
        IndexDirectory.open(tmp_path / "nothing", SETTINGS, create=False)


def test_a_generation_holds_only_the_store_the_chunk_vectors_and_bm25(tmp_path):
    directory = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    add(directory, "a", "alpha text")
    folder = tmp_path / "idx" / f"gen-{directory.snapshot().generation:06d}"
    assert sorted(p.name for p in folder.iterdir()) == ["bm25", "store.sqlite", "vectors.faiss"]
    # The sentence vectors are kept, in the store, for retrieval to score per chunk.
    (chunk_id,) = directory.snapshot().vectors.ids()
    spans, vectors = directory.snapshot().sentences([int(chunk_id)])[int(chunk_id)]
    assert spans == [(0, len("alpha text"))] and vectors.shape == (1, 4)


def test_an_index_written_with_the_old_sentence_index_opens_checks_and_answers(tmp_path):
    directory = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    add(directory, "a", "alpha text")
    add(directory, "b", "beta text")
    old_folder = tmp_path / "idx" / f"gen-{directory.snapshot().generation:06d}"
    write_old_sentence_index(old_folder)
    assert {"sentences.faiss", "sentence_chunks.npy"} <= {p.name for p in old_folder.iterdir()}

    reopened = IndexDirectory.open(tmp_path / "idx", SETTINGS)  # a fresh process's view
    report = reopened.check()
    assert report.ok, report.problems
    assert (report.documents, report.chunks) == (2, 2)
    snapshot = reopened.snapshot()
    query = doc("b", "beta text")[2]
    scores, ids = snapshot.dense(query, 1)
    assert snapshot.chunks(list(ids))[int(ids[0])].doc_id == "b" and scores[0] == pytest.approx(1.0, abs=1e-5)
    spans, vectors = snapshot.sentences([int(ids[0])])[int(ids[0])]
    assert spans == [(0, len("beta text"))] and np.allclose(vectors, query)
    _, lexical_ids = snapshot.lexical_search("alpha", 1)
    assert snapshot.chunks(list(lexical_ids))[int(lexical_ids[0])].doc_id == "a"

    # The next write starts a generation without the old files and sweeps the old one.
    add(reopened, "c", "gamma text")
    folders = list((tmp_path / "idx").glob("gen-*"))
    assert len(folders) == 1 and folders[0] != old_folder
    assert sorted(p.name for p in folders[0].iterdir()) == ["bm25", "store.sqlite", "vectors.faiss"]
    assert reopened.check().ok
    assert {i.doc_id for i in reopened.snapshot().documents()} == {"a", "b", "c"}


def test_repair_of_an_old_format_index_drops_the_sentence_index(tmp_path):
    directory = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    add(directory, "a", "alpha text")
    write_old_sentence_index(tmp_path / "idx" / f"gen-{directory.snapshot().generation:06d}")
    report = IndexDirectory.open(tmp_path / "idx", SETTINGS).repair()
    assert report.ok, report.problems
    folder = tmp_path / "idx" / f"gen-{report.generation:06d}"
    assert sorted(p.name for p in folder.iterdir()) == ["bm25", "store.sqlite", "vectors.faiss"]
