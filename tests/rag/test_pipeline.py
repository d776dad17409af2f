from __future__ import annotations

import json

import numpy as np
import pytest

from domain.errors import DocumentNotFoundError, IndexMismatchError, InvalidQuestionError
from rag import Pipeline
from rag.hash_embedder import HashEmbedder
from tests.conftest import NEWS_DIR

DOCS = {
    "rivers.txt": "The Nile is the longest river in Africa. It flows north into the Mediterranean Sea.",
    "mountains.md": "# Mountains\n\nMount Everest is the highest mountain on Earth. It lies in the Himalayas.",
    "cooking.txt": "Bread needs flour, water, salt and yeast. Knead the dough for ten minutes.",
}


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def assert_cited_exactly(pipeline: Pipeline, result) -> None:
    for item in [*result.answers, *result.passages]:
        c = item.citation
        assert pipeline.document(c.doc_id).text[c.char_start:c.char_end] == item.text


def test_ingest_then_ask_returns_a_cited_extract(pipeline, corpus):
    report = pipeline.ingest([corpus])
    assert len(report.added) == 3 and report.skipped == [] and report.chunks_added >= 3
    result = pipeline.ask("Which river is the longest in Africa?")
    assert not result.no_answer
    assert "Nile" in result.answers[0].text
    assert result.answers[0].citation.source.endswith("rivers.txt")
    assert_cited_exactly(pipeline, result)
    assert set(result.timings_ms) == {"retrieve", "answer", "total"}


def test_read_answers_from_one_document_only(pipeline, corpus):
    report = pipeline.ingest([corpus])
    rivers = next(d for d in report.added if pipeline.document(d).source.endswith("rivers.txt"))
    result = pipeline.read("Which sea does the Nile flow into?", rivers)
    assert [p.citation.doc_id for p in result.passages] == [rivers]
    assert all(a.citation.doc_id == rivers for a in result.answers)
    assert_cited_exactly(pipeline, result)
    assert 0.0 < result.no_answer_threshold < 1.0
    with pytest.raises(DocumentNotFoundError):
        pipeline.read("Which sea?", "no-such-document")


def test_ask_json_shape_matches_the_cli_contract(pipeline, corpus):
    pipeline.ingest([corpus])
    body = json.loads(json.dumps(pipeline.ask("highest mountain on Earth", k=2).to_dict()))
    assert {"question", "no_answer", "answers", "passages", "timings_ms"} <= set(body)
    answer = body["answers"][0]
    assert {"text", "score", "sentence", "citation"} <= set(answer)
    assert set(answer["citation"]) == {"doc_id", "title", "source", "page", "chunk_id", "char_start", "char_end"}
    assert len(body["passages"]) <= 2


def test_unrelated_question_says_no_answer(pipeline, corpus):
    pipeline.ingest([corpus])
    result = pipeline.ask("quantum chromodynamics gluon lattice")
    assert result.no_answer and result.answers == []


def test_reingesting_unchanged_files_embeds_nothing(pipeline, corpus, fake_embedder):
    pipeline.ingest([corpus])
    generation = pipeline.stats()["generation"]
    calls = fake_embedder.calls
    report = pipeline.ingest([corpus])
    assert sorted(report.unchanged) == sorted(d.doc_id for d in pipeline.documents())
    assert report.added == report.updated == [] and report.chunks_added == 0
    assert fake_embedder.calls == calls + 1  # one call, with nothing to embed
    assert pipeline.stats()["generation"] == generation, "no new generation for no change"


def test_changed_file_replaces_its_chunks_everywhere(pipeline, corpus):
    pipeline.ingest([corpus])
    (corpus / "rivers.txt").write_text("The Amazon carries more water than any other river.", encoding="utf-8")
    report = pipeline.ingest([corpus])
    assert len(report.updated) == 1 and report.chunks_removed >= 1
    assert "Amazon" in pipeline.ask("Which river carries the most water?").answers[0].text
    snapshot = pipeline.directory.snapshot()
    all_text = " ".join(t for _, t in snapshot.store.iter_chunk_texts())
    assert "Nile" not in all_text
    assert not any("Nile" in p.text for p in pipeline.retrieve("Nile longest river Africa", k=10, mode="bm25"))
    assert pipeline.check().ok


def test_delete_removes_a_document_from_all_three_stores(pipeline, corpus):
    pipeline.ingest([corpus])
    doc_id = next(d.doc_id for d in pipeline.documents() if d.source.endswith("cooking.txt"))
    chunk_ids = [c for c, _ in pipeline.directory.snapshot().store.iter_chunk_texts()]
    pipeline.delete(doc_id)
    snapshot = pipeline.directory.snapshot()
    remaining = set(snapshot.store.chunk_ids().tolist())
    assert set(snapshot._live.ids().tolist()) == remaining
    assert len(remaining) < len(chunk_ids)
    assert len(snapshot.lexical_search("bread flour yeast dough", 10)[1]) == 0
    assert all(not p.citation.doc_id == doc_id for p in pipeline.retrieve("bread flour yeast dough", k=10))
    assert pipeline.check().ok
    with pytest.raises(DocumentNotFoundError):
        pipeline.document(doc_id)
    with pytest.raises(DocumentNotFoundError):
        pipeline.delete(doc_id)


def test_bad_files_are_skipped_with_reasons_and_the_rest_ingested(pipeline, corpus):
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "image.png").write_bytes(b"\x89PNG\r\n")
    (corpus / "binary.txt").write_bytes(b"\x00\xff" * 100)
    report = pipeline.ingest([corpus])
    assert len(report.added) == 3
    reasons = {s.source.rsplit("/", 1)[-1]: s.reason for s in report.skipped}
    assert set(reasons) == {"empty.txt", "image.png", "binary.txt"}
    assert "unsupported" in reasons["image.png"] and "empty" in reasons["empty.txt"]


def test_index_persists_and_reopens(tmp_path, corpus, fake_embedder):
    first = Pipeline.open(tmp_path / "idx", embedder=fake_embedder)
    first.ingest([corpus])
    again = Pipeline.open(tmp_path / "idx", embedder=fake_embedder, create=False)
    assert len(again.documents()) == 3
    assert "Everest" in again.ask("highest mountain").answers[0].text


def test_opening_with_another_model_is_a_clear_error(tmp_path, corpus, fake_embedder):
    Pipeline.open(tmp_path / "idx", embedder=fake_embedder).ingest([corpus])
    with pytest.raises(IndexMismatchError, match="rebuild"):
        Pipeline.open(tmp_path / "idx", embedder=HashEmbedder(dimension=32, name="other-model"))


@pytest.mark.parametrize("question", ["", "   \n", "x" * 2001])
def test_bad_questions_are_rejected(pipeline, question):
    with pytest.raises(InvalidQuestionError):
        pipeline.ask(question)


@pytest.mark.parametrize("k", [0, 51, -1])
def test_k_out_of_range_is_rejected(pipeline, k):
    with pytest.raises(InvalidQuestionError):
        pipeline.ask("a question", k=k)


def test_empty_index_answers_no_answer(pipeline):
    result = pipeline.ask("anything at all?")
    assert result.no_answer and result.passages == []


def test_records_and_uploads_are_idempotent(pipeline):
    first = pipeline.ingest_record({"id": "note-1", "title": "Note", "text": "Lanterns glow at the festival."})
    again = pipeline.ingest_record({"id": "note-1", "title": "Note", "text": "Lanterns glow at the festival."})
    assert first.added == ["note-1"] and again.unchanged == ["note-1"]
    upload = pipeline.ingest_bytes(b"Kites fly in spring.", filename="../../etc/kites.txt")
    assert pipeline.document(upload.added[0]).source == "upload:kites.txt"


def test_retrieval_modes_all_find_the_lexical_match(pipeline, corpus):
    pipeline.ingest([corpus])
    for mode in ("hybrid", "dense", "bm25"):
        passages = pipeline.retrieve("Everest Himalayas", k=1, mode=mode)
        assert "Everest" in passages[0].text, mode
    assert np.isfinite([p.score for p in pipeline.retrieve("Everest", k=3)]).all()


def test_a_new_index_can_use_the_large_collection_vector_index(tmp_path, corpus, fake_embedder):
    pipeline = Pipeline.open(tmp_path / "big", embedder=fake_embedder, vector_index="ivf-sq8")
    pipeline.ingest([corpus])
    assert "Everest" in pipeline.retrieve("Everest Himalayas", k=1, mode="dense")[0].text
    reopened = Pipeline.open(tmp_path / "big", embedder=fake_embedder)  # the index keeps its own kind
    assert reopened.directory.settings.vector_index == "ivf-sq8" and reopened.check().ok


class SpanCountingEmbedder(HashEmbedder):
    """Records which texts each ingest call embedded, to tell the two sentence-vector modes apart."""

    def __init__(self) -> None:
        super().__init__()
        self.separately: list[str] = []
        self.with_spans: list[str] = []

    def encode_documents(self, texts, *, progress=False):
        self.separately += texts
        return super().encode_documents(texts)

    def encode_documents_with_spans(self, texts, spans, *, progress=False):
        self.with_spans += texts
        whole, parts = super().encode_documents_with_spans(texts, spans)
        self.separately = self.separately[: -len(texts)]  # the parent's own call, not the pipeline's
        return whole, parts


def test_late_sentence_vectors_come_from_the_chunk_pass_and_stay_with_the_index(tmp_path, corpus):
    embedder = SpanCountingEmbedder()
    pipeline = Pipeline.open(tmp_path / "late", embedder=embedder, sentence_vectors="late")
    pipeline.ingest([corpus])
    snapshot = pipeline.directory.snapshot()
    ids = sorted(int(i) for i in snapshot.store.chunk_ids())
    chunks, sentences = snapshot.chunks(ids), snapshot.sentences(ids)
    # one pass over the chunks; no sentence embedded on its own
    assert embedder.separately == [] and sorted(embedder.with_spans) == sorted(c.text for c in chunks.values())
    for chunk_id in ids:
        chunk, (spans, vectors) = chunks[chunk_id], sentences[chunk_id]
        local = [(a - chunk.char_start, b - chunk.char_start) for a, b in spans]
        whole, expected = HashEmbedder().encode_documents_with_spans([chunk.text], [local])
        np.testing.assert_allclose(vectors, expected[0], atol=1e-6)
        assert not np.allclose(vectors, HashEmbedder().encode_documents([chunk.text[a:b] for a, b in local]))
    result = pipeline.ask("Which river is the longest in Africa?")
    assert "Nile" in result.answers[0].text
    assert_cited_exactly(pipeline, result)
    reopened = Pipeline.open(tmp_path / "late", embedder=HashEmbedder(), sentence_vectors="separate")
    assert reopened.directory.settings.sentence_vectors == "late" and reopened.check().ok  # an index keeps its own


def test_separate_sentence_vectors_embed_each_sentence_once(tmp_path, corpus):
    embedder = SpanCountingEmbedder()
    pipeline = Pipeline.open(tmp_path / "separate", embedder=embedder, sentence_vectors="separate")
    pipeline.ingest([corpus])
    assert pipeline.directory.settings.sentence_vectors == "separate" and embedder.with_spans == []
    assert "The Nile is the longest river in Africa." in embedder.separately
    assert len(embedder.separately) == len(set(embedder.separately))


def test_an_unknown_sentence_vector_mode_is_refused(tmp_path, fake_embedder):
    with pytest.raises(ValueError, match="sentence_vectors"):
        Pipeline.open(tmp_path / "x", embedder=fake_embedder, sentence_vectors="sometimes")


def test_boilerplate_is_stored_with_the_document_and_left_out_of_its_chunks(pipeline, tmp_path):
    news = tmp_path / "news"
    news.mkdir()
    for path in NEWS_DIR.glob("*.txt"):
        (news / path.name).write_bytes(path.read_bytes())
    report = pipeline.ingest([news])
    [excluded] = report.excluded
    assert excluded.source.endswith("004_6daf74257dfb5746.txt") and excluded.by_reason == {"footer": excluded.chars}
    doc = pipeline.document(excluded.doc_id)
    assert doc.text == (news / "004_6daf74257dfb5746.txt").read_text(encoding="utf-8")
    [footer] = doc.excluded
    assert footer.end - footer.start == excluded.chars and "ICP备" in doc.text[footer.start:footer.end]
    chunks = pipeline.directory.snapshot().document_chunks(doc.doc_id)
    assert chunks and not any("ICP备" in c.text or "Cookie Policy" in c.text for c in chunks)
    assert "New Chongqing" not in pipeline.ask("What is the ICP licence number of the site?").passages[0].text

    # Kept on request: the document changes (what is indexed of it did), and the footer is indexed.
    again = pipeline.ingest([news], keep_boilerplate=True)
    assert again.updated == [excluded.doc_id] and again.excluded == []
    assert pipeline.document(excluded.doc_id).excluded == ()
    chunks = pipeline.directory.snapshot().document_chunks(doc.doc_id)
    assert any("ICP备" in c.text for c in chunks)


def test_cli_ingest_prints_what_it_excluded_and_show_lists_it(pipeline, tmp_path, monkeypatch, capsys):
    from ragcli import main as cli

    monkeypatch.setattr(cli, "open_pipeline", lambda args, create=True: pipeline)
    source = tmp_path / "004.txt"
    source.write_bytes((NEWS_DIR / "004_6daf74257dfb5746.txt").read_bytes())
    assert cli.main(["--index", str(tmp_path / "index"), "ingest", str(source)]) == 0
    out = capsys.readouterr().out
    doc_id = pipeline.documents()[0].doc_id
    [line] = [line for line in out.splitlines() if "excluded" in line]
    chars = sum(ex.end - ex.start for ex in pipeline.document(doc_id).excluded)
    assert line.strip() == (f"excluded {chars} characters of {source} as boilerplate (footer {chars}); "
                            f"see `rag show {doc_id}`")
    assert cli.main(["--index", str(tmp_path / "index"), "show", "--json", doc_id]) == 0
    shown = json.loads(capsys.readouterr().out)
    [ex] = shown["excluded"]
    assert ex["reason"] == "footer" and "ICP备" in shown["text"][ex["start"]:ex["end"]]
    assert shown["title"] == "Over 500 Global Exhibitors Bolstering Chongqing's Vision as an International Consumption Hub"


def test_a_folder_is_committed_in_batches_and_a_failure_keeps_the_batches_before_it(pipeline, tmp_path, monkeypatch):
    folder = tmp_path / "many"
    folder.mkdir()
    for n in range(5):
        (folder / f"note{n}.txt").write_text(f"Note number {n} says the ferry leaves at {n} o'clock.", encoding="utf-8")
    monkeypatch.setattr("rag.pipeline.INGEST_BATCH_DOCUMENTS", 2)
    before = pipeline.stats()["generation"]
    report = pipeline.ingest([folder])
    assert len(report.added) == 5 and pipeline.stats()["generation"] == before + 3  # 2 + 2 + 1 files

    for n in range(5):
        (folder / f"note{n}.txt").write_text(f"Note {n}, revised: the ferry leaves at noon.", encoding="utf-8")
    calls = 0
    original = pipeline.ingest_documents

    def fail_on_the_second_batch(docs, **kwargs):
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("crash in the second batch")
        return original(docs, **kwargs)

    monkeypatch.setattr(pipeline, "ingest_documents", fail_on_the_second_batch)
    with pytest.raises(RuntimeError):
        pipeline.ingest([folder])
    texts = sorted(pipeline.document(d.doc_id).text for d in pipeline.documents())
    assert sum("revised" in t for t in texts) == 2 and len(texts) == 5  # the first batch stayed committed
    assert pipeline.check().ok


def test_documents_made_in_python_are_checked_against_the_limits_too(pipeline):
    from domain.types import Document

    good = Document(doc_id="good", text="Owls sleep by day.", source="notes", title="Owls", metadata={"n": 1})
    bad = Document(doc_id="bad", text="Bats sleep by day.", source="bats.txt", title="Bats",
                   metadata={"when": object()})
    report = pipeline.ingest_documents([good, bad])
    assert report.added == ["good"]
    assert [(s.source, s.reason.split(";")[0]) for s in report.skipped] == [
        ("bats.txt", "metadata.when is of type object")]
    assert [d.doc_id for d in pipeline.documents()] == ["good"]
