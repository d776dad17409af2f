from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from domain.errors import IndexCorruptError, IndexMismatchError, IndexStoreError
from domain.types import Chunk, Document
from index import IndexDirectory, IndexSettings
from index.directory import MANIFEST
from rag import Pipeline
from rag.hash_embedder import HashEmbedder

SCHEMA1 = Path(__file__).parent / "data" / "schema1"

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


def test_new_index_has_a_manifest_and_an_empty_store(tmp_path):
    directory = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    manifest = json.loads((tmp_path / "idx" / MANIFEST).read_text())
    assert manifest["schema_version"] == 2
    assert manifest["settings"]["model_name"] == "m" and manifest["settings"]["dimension"] == 4
    assert directory.snapshot().stats() == {"documents": 0, "chunks": 0, "generation": 0}
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
    assert snapshot.stats() == {"documents": 1, "chunks": 1, "generation": 1}
    assert reopened.check().ok


def test_a_write_changes_only_what_it_touches(tmp_path):
    directory = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    for name in ("a", "b", "c"):
        add(directory, name, f"{name} text")
    snapshot = directory.snapshot()
    before = {int(i) for i in snapshot._live.ids()}
    add(directory, "b", "b text, revised")  # replaces b's chunk
    with directory.writer() as writer:
        writer.delete("c")
        writer.commit()
    after = {int(i) for i in directory.snapshot()._live.ids()}
    assert len(before - after) == 2 and len(after - before) == 1
    assert {i.doc_id for i in directory.snapshot().documents()} == {"a", "b"}
    assert directory.snapshot().stats() == {"documents": 2, "chunks": 2, "generation": 5}
    # The store remembers what each write removed, for other processes to catch up with.
    changes = directory.snapshot().store.changes_since(3, 4)
    assert len(changes.added_ids) == 1 and len(changes.deleted_ids) == 2 and changes.seq == 5
    assert directory.snapshot().store.changed_since_save() == 6  # 3 added, then 1 added and 2 removed
    assert directory.check().ok


def test_another_process_sees_new_commits_in_both_searches(tmp_path):
    writer_side = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    reader_side = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    assert reader_side.snapshot().documents() == []
    add(writer_side, "a", "alpha text")
    snapshot = reader_side.snapshot()
    assert [i.doc_id for i in snapshot.documents()] == ["a"]
    scores, ids = snapshot.dense(doc("a", "alpha text")[2], 1)
    assert snapshot.chunks(list(ids))[int(ids[0])].doc_id == "a"
    assert list(snapshot.lexical_search("alpha", 5)[1]) == list(ids)
    with writer_side.writer() as writer:
        writer.delete("a")
        writer.commit()
    snapshot = reader_side.snapshot()
    assert len(snapshot.dense(doc("a", "alpha text")[2], 1)[1]) == 0 and len(snapshot.lexical_search("alpha", 5)[1]) == 0


def test_saved_vectors_plus_the_changes_after_them_give_the_same_index(tmp_path, monkeypatch):
    monkeypatch.setattr("index.directory._SAVE_AFTER_CHANGES", 3)
    directory = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    for name in "abcde":
        add(directory, name, f"{name} text")
    with directory.writer() as writer:
        writer.delete("b")
        writer.commit()
    saved = sorted(p.name for p in (tmp_path / "idx").glob("vectors-*.faiss"))
    assert len(saved) == 1  # older copies are deleted
    fresh = IndexDirectory.open(tmp_path / "idx", SETTINGS).snapshot()
    assert fresh.generation == 6
    assert sorted(fresh._live.ids().tolist()) == sorted(directory.snapshot()._live.ids().tolist())
    assert len(fresh.store.changes_since(0, 4).deleted_ids) == 0  # removals up to the copy are pruned


def test_a_process_behind_a_pruning_starts_again_from_the_saved_copy(tmp_path, monkeypatch):
    monkeypatch.setattr("index.directory._SAVE_AFTER_CHANGES", 4)
    directory = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    behind = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    add(directory, "a", "alpha text")
    assert len(behind.snapshot().documents()) == 1  # it holds write 1
    for name in "bcd":
        add(directory, name, f"{name} text")
    with directory.writer() as writer:
        writer.delete("a")
        writer.commit()  # a copy is saved and the removal of "a" forgotten
    assert not behind._opened().store.changes_since(1, 4).complete  # write 1 to 5 cannot be replayed
    ids = behind.snapshot()._live.ids().tolist()
    assert sorted(ids) == sorted(directory.snapshot()._live.ids().tolist()) and len(ids) == 3
    assert sorted(behind.snapshot()._lexical.ids().tolist()) == sorted(ids)  # the lexical index too
    assert behind.snapshot().lexical_search("alpha", 5)[1].tolist() == []


def test_check_finds_disagreement_and_repair_fixes_it(tmp_path):
    directory = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    add(directory, "a", "alpha text")
    add(directory, "b", "beta text")
    db = sqlite3.connect(tmp_path / "idx" / "store.sqlite")
    db.execute("UPDATE meta SET value = 7 WHERE key = 'chunks'")
    db.commit()
    db.close()
    report = IndexDirectory.open(tmp_path / "idx", SETTINGS).check()
    assert not report.ok and len(report.problems) == 1, report.problems
    assert IndexDirectory.open(tmp_path / "idx", SETTINGS).repair().ok


def test_a_damaged_saved_copy_is_reported_and_the_vectors_come_from_the_store(tmp_path):
    directory = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    add(directory, "a", "alpha text")
    directory.repair()  # saves a copy
    [copy] = (tmp_path / "idx").glob("vectors-*.faiss")
    copy.write_bytes(b"garbage")
    fresh = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    assert len(fresh.snapshot()._live.ids()) == 1
    report = fresh.check()
    assert not report.ok and "cannot be read" in report.problems[0]
    assert fresh.repair().ok


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


def test_an_index_of_the_previous_format_is_migrated_and_answers(tmp_path):
    root = tmp_path / "old"
    shutil.copytree(SCHEMA1, root)
    pipeline = Pipeline.open(root, embedder=HashEmbedder())
    assert not list(root.glob("gen-*"))
    assert json.loads((root / MANIFEST).read_text())["schema_version"] == 2
    assert pipeline.stats()["documents"] == 2 and pipeline.stats()["chunks"] == 2
    assert pipeline.check().ok
    assert {d.doc_id for d in pipeline.documents()} == {"nile", "everest"}
    [best] = pipeline.retrieve("longest river in Africa", k=1, mode="bm25")
    assert best.citation.doc_id == "nile"
    [best] = pipeline.retrieve("highest mountain on Earth", k=1, mode="dense")
    assert best.citation.doc_id == "everest"
    pipeline.ingest_record({"id": "bread", "text": "Bread needs flour, water, salt and yeast."})
    assert pipeline.stats()["documents"] == 3 and pipeline.check().ok


def test_a_migration_cut_short_is_done_again_from_the_untouched_generation(tmp_path, monkeypatch):
    root = tmp_path / "old"
    shutil.copytree(SCHEMA1, root)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed before the manifest is rewritten")

    monkeypatch.setattr("index.migrate.write_manifest", crash)
    with pytest.raises(KeyboardInterrupt):
        Pipeline.open(root, embedder=HashEmbedder())
    assert json.loads((root / MANIFEST).read_text())["schema_version"] == 1 and list(root.glob("gen-*"))
    monkeypatch.undo()
    pipeline = Pipeline.open(root, embedder=HashEmbedder())
    assert pipeline.check().ok and pipeline.stats()["documents"] == 2


def test_removed_chunks_are_left_out_at_once_and_taken_out_of_faiss_in_bulk(tmp_path, monkeypatch):
    monkeypatch.setattr("index.live._MIN_DEAD", 2)
    directory = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    for name in "abcdef":
        add(directory, name, f"{name} text")
    live = directory.snapshot()._live
    query = doc("a", "a text")[2]

    def delete(doc_id: str) -> None:
        with directory.writer() as writer:
            writer.delete(doc_id)
            writer.commit()

    delete("a")
    snapshot = directory.snapshot()
    assert len(live._dead) == 1 and len(live._vectors.ids()) == 6  # marked, not moved
    _, ids = snapshot.dense(query, 6)
    assert len(ids) == 5 and "a" not in {c.doc_id for c in snapshot.chunks(list(ids)).values()}
    delete("b")
    delete("c")
    directory.snapshot()
    assert not live._dead and len(live._vectors.ids()) == 3  # over the threshold: taken out together
    assert len(directory.snapshot().dense(query, 6)[1]) == 3 and directory.check().ok


def test_a_deleted_store_is_an_error_not_a_new_empty_index(tmp_path):
    directory = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    add(directory, "a", "alpha text")
    directory.close()
    for path in (tmp_path / "idx").glob("store.sqlite*"):
        path.unlink()
    fresh = IndexDirectory.open(tmp_path / "idx", SETTINGS)
    with pytest.raises(IndexCorruptError, match="cannot read the store"):
        fresh.snapshot()
    report = fresh.check()
    assert not report.ok and "source of truth" in report.problems[0]
    assert not (tmp_path / "idx" / "store.sqlite").exists()


def test_a_document_written_in_another_group_while_a_question_runs_is_never_returned(tmp_path):
    """A scope admitting every group there is searches without a filter; a document written meanwhile in
    a group outside it can be found, but its chunks are never returned."""
    from domain.access import PUBLIC_ONLY
    from rag import Pipeline
    from rag.hash_embedder import HashEmbedder

    pipeline = Pipeline.open(tmp_path / "index", embedder=HashEmbedder())
    pipeline.ingest_record({"id": "pub", "text": "Opening hours are nine to five."})
    snapshot = pipeline.directory.snapshot(PUBLIC_ONLY)  # every document is public: searches unfiltered
    pipeline.ingest_record({"id": "memo", "text": "The merger with Acme closes in March.", "groups": ["legal"]})
    pipeline.directory.snapshot()  # another question brings this process's indexes up to date meanwhile
    _, found = snapshot.lexical_search("merger Acme March", 10)
    assert len(found) == 1  # the search saw it...
    assert snapshot.chunks(found.tolist()) == {}  # ...and nothing of it is returned
    assert snapshot.stats()["documents"] == 1 and snapshot.document("memo") is None
