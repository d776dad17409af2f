"""The storage contract: the same tests against every engine (a local directory and milvus-lite)."""
from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from domain.errors import DocumentNotFoundError, IndexMismatchError, IndexStoreError
from domain.types import Exclusion
from rag import Pipeline
from rag.boilerplate import mark_boilerplate
from rag.hash_embedder import HashEmbedder

from tests.index.milvus_server import server_location

# "milvus" is Milvus's C++ server (tests/index/milvus_server.py starts one, or RAG_TEST_MILVUS_URI names one).
ENGINES = ["local", "milvus-lite", "milvus"]

RECORDS = [
    {"id": "nile", "title": "Rivers", "text": "The Nile is the longest river in Africa. It flows north into the sea."},
    {"id": "everest", "title": "Mountains", "text": "Mount Everest is the highest mountain on Earth. It lies in Nepal."},
    {"id": "bread", "title": "Cooking", "text": "Bread needs flour, water, salt and yeast. Knead the dough well."},
]


@contextlib.contextmanager
def engine_location(engine: str, tmp_path: Path) -> Iterator[str]:
    """Where a test's index lives on ``engine`` (a server's collections are dropped after)."""
    if engine == "milvus":
        with server_location() as where:
            yield where
    else:
        yield str(tmp_path / "index") if engine == "local" else f"milvus-lite:{tmp_path / 'index.db'}"


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    if request.param != "local":
        pytest.importorskip("pymilvus")
    return request.param


@pytest.fixture
def where(engine: str, tmp_path: Path) -> Iterator[str]:
    with engine_location(engine, tmp_path) as found:
        yield found


@pytest.fixture
def pipeline(where: str) -> Pipeline:
    pipeline = Pipeline.open(where, embedder=HashEmbedder())
    for record in RECORDS:
        pipeline.ingest_record(record)
    yield pipeline
    pipeline.directory.close()


def test_every_search_finds_the_document_and_cites_it_exactly(pipeline):
    for mode in ("bm25", "dense", "hybrid"):
        [best] = pipeline.retrieve("Which river is the longest in Africa?", k=1, mode=mode)
        assert best.citation.doc_id == "nile", mode
        text = pipeline.document("nile").text
        assert text[best.citation.char_start:best.citation.char_end] == best.text
        assert best.citation.title == "Rivers"


def test_counts_listing_and_documents_round_trip(pipeline):
    stats = pipeline.stats()
    assert (stats["documents"], stats["chunks"]) == (3, 3)
    listed = pipeline.documents()
    assert [d.doc_id for d in listed] == ["nile", "everest", "bread"]  # the order they were added
    assert [d.doc_id for d in pipeline.documents(offset=1, k=1)] == ["everest"]
    assert all(d.n_chunks == 1 and d.content_hash for d in listed)
    doc = pipeline.document("everest")
    assert (doc.title, doc.text) == ("Mountains", RECORDS[1]["text"])
    assert pipeline.check().ok


def test_replacing_and_deleting_a_document_changes_every_search(pipeline):
    report = pipeline.ingest_record({"id": "nile", "title": "Rivers", "text": "The Amazon carries more water than any river."})
    assert report.updated == ["nile"] and report.chunks_removed == 1
    assert pipeline.ingest_record({"id": "nile", "title": "Rivers",
                                   "text": "The Amazon carries more water than any river."}).unchanged == ["nile"]
    for mode in ("bm25", "dense"):
        found = pipeline.retrieve("Nile Africa longest", k=3, mode=mode)
        assert all("Nile" not in p.text for p in found), mode
    pipeline.delete("bread")
    assert pipeline.stats()["documents"] == 2
    assert all(p.citation.doc_id != "bread" for p in pipeline.retrieve("flour yeast dough", k=3, mode="bm25"))
    with pytest.raises(DocumentNotFoundError):
        pipeline.document("bread")
    with pytest.raises(DocumentNotFoundError):
        pipeline.delete("bread")
    assert pipeline.check().ok


def test_a_long_document_with_pages_and_exclusions_round_trips_exactly(pipeline):
    from domain.types import Document

    page = "Ångström measured the solar spectrum in Uppsala. 光谱 " * 700  # > 64 kB in UTF-8 per page
    text = page + "\n\n" + page + "\n\nHome\nContact: desk@example.org\nReg. 50120220004"
    footer = text.index("Home")
    doc = Document(doc_id="long", text=text, source="long.pdf", title="Spectra",
                   metadata={"lang": "sv", "n": 2}, page_starts=(0, len(page) + 2),
                   excluded=(Exclusion(footer, len(text), "footer"),))
    report = pipeline.ingest_documents([doc], keep_boilerplate=False)
    assert report.added == ["long"]
    stored = pipeline.document("long")
    assert stored.text == text and len(text.encode()) > 65_535
    assert stored.page_starts == doc.page_starts and stored.metadata == doc.metadata
    [expected] = mark_boilerplate([doc])  # what ingest records: the given range and any it finds
    assert stored.excluded == expected.excluded and {e.reason for e in stored.excluded} == {"footer"}
    chunks = pipeline.directory.snapshot().document_chunks("long")
    assert all(text[c.char_start:c.char_end] == c.text for c in chunks)
    assert {c.page_of(c.char_start) for c in chunks} == {1, 2}
    assert not any("desk@example.org" in c.text for c in chunks)


def test_a_chunk_of_many_short_sentences_keeps_every_sentence_and_vector(tmp_path):
    """~120 sentences in a chunk or two (several packed pieces in Milvus): the same offsets and vectors
    (to float16's precision) from every engine."""
    text = " ".join(f"Go {n}." for n in range(120))
    found = {}
    for engine in ENGINES:
        if engine == "milvus-lite":
            pytest.importorskip("pymilvus")
        with engine_location(engine, tmp_path / engine) as where:
            pipeline = Pipeline.open(where, embedder=HashEmbedder())
            pipeline.ingest_record({"id": "terse", "title": "Terse", "text": text})
            snapshot = pipeline.directory.snapshot()
            chunks = snapshot.document_chunks("terse")
            sentences = snapshot.sentences([c.chunk_id for c in chunks])
            found[engine] = ([sentences[c.chunk_id][0] for c in chunks], [sentences[c.chunk_id][1] for c in chunks])
            pipeline.directory.close()
    spans, vectors = found["local"]
    assert sum(len(s) for s in spans) >= 120 and all(text[a:b].startswith("Go ") for s in spans for a, b in s)
    for engine in ENGINES[1:]:
        other_spans, other_vectors = found[engine]
        assert other_spans == spans
        assert all(np.abs(x - y).max() < 2e-3 for x, y in zip(vectors, other_vectors, strict=True))


def test_a_write_that_fails_before_commit_leaves_nothing_visible(pipeline):
    with pytest.raises(RuntimeError), pipeline.directory.writer() as writer:
        writer.delete("nile")
        raise RuntimeError("crash before commit")
    assert pipeline.document("nile").text == RECORDS[0]["text"]
    assert pipeline.stats()["documents"] == 3 and pipeline.check().ok


def test_another_model_or_a_missing_index_is_a_clear_error(pipeline, where, tmp_path, engine):
    with pytest.raises(IndexMismatchError, match="embedding model"):
        Pipeline.open(where, embedder=HashEmbedder(dimension=32, name="other"))
    with engine_location(engine, tmp_path / "nowhere") as nowhere, pytest.raises(IndexStoreError, match="no index"):
        Pipeline.open(nowhere, embedder=HashEmbedder(), create=False)


def test_milvus_a_write_cut_short_is_never_half_visible_and_repair_removes_its_rows(tmp_path):
    pytest.importorskip("pymilvus")
    pipeline = Pipeline.open(f"milvus-lite:{tmp_path / 'index.db'}", embedder=HashEmbedder())
    for record in RECORDS:
        pipeline.ingest_record(record)
    index = pipeline.directory
    writer_context = index.writer()
    writer = writer_context.__enter__()
    # A process killed after writing a new version of "nile" (and a new document) but before the switch.
    from rag.loaders import record_to_document

    for record in ({"id": "nile", "text": "The Nile floods every summer in Egypt."},
                   {"id": "volga", "text": "The Volga is the longest river in Europe."}):
        doc = record_to_document(record, default_id=record["id"], source="api")
        chunks = pipeline.chunker.chunk(doc)
        vectors = pipeline.embedder.encode_documents([c.text for c in chunks])
        writer.put(doc, "cut-short", chunks, vectors, [[(c.char_start, c.char_end)] for c in chunks],
                   [v[None, :] for v in vectors])
    writer._done = True  # killed: nothing after this runs
    assert pipeline.document("nile").text == RECORDS[0]["text"]
    with pytest.raises(DocumentNotFoundError):
        pipeline.document("volga")
    for mode in ("bm25", "dense"):
        found = pipeline.retrieve("Volga Europe floods Egypt", k=5, mode=mode)
        assert all(p.citation.doc_id != "volga" and "floods" not in p.text for p in found), mode
    report = pipeline.check()
    assert not report.ok and any("no document's current version" in p for p in report.problems)
    assert not pipeline.repair().ok  # younger than the grace period: it may be another replica's write
    index.orphan_grace_s = 0  # (the crash harness does the same: it knows the writer is dead)
    assert pipeline.repair().ok
    assert pipeline.stats()["chunks"] == 3 and pipeline.document("nile").text == RECORDS[0]["text"]
    index.close()


# milvus-lite, written by two threads at once, sometimes leaves a WAL file for the garbage collector to
# close: its own leak, harmless here, and not what this test is about.
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_milvus_two_writers_replacing_the_same_documents_never_corrupt_them(tmp_path):
    """Two replicas (two connections to one index) replace the same documents at once: every document
    stays whole (the last switch wins), and what the losers wrote is only orphans for repair."""
    pytest.importorskip("pymilvus")
    import threading

    where = f"milvus-lite:{tmp_path / 'index.db'}"
    first = Pipeline.open(where, embedder=HashEmbedder())
    second = Pipeline.open(where, embedder=HashEmbedder())  # its own client: another replica's connection
    errors = []

    def write(pipeline: Pipeline, name: str) -> None:
        try:
            for round_ in range(12):
                for doc_id in ("nile", "everest"):
                    pipeline.ingest_record({"id": doc_id, "title": doc_id,
                                            "text": f"{name} wrote {doc_id} in round {round_}. It has two sentences."})
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(p, n)) for p, n in ((first, "first"), (second, "second"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for doc_id in ("nile", "everest"):
        text = second.document(doc_id).text
        [chunk] = second.directory.snapshot().document_chunks(doc_id)
        assert chunk.text == text and f"wrote {doc_id} in round 11" in text  # whole, and a last write
    report = first.check()
    assert all("no document's current version" in p for p in report.problems)  # orphans at most
    first.directory.orphan_grace_s = 0
    assert first.repair().ok
    second.directory.close()
    first.directory.close()
    gc.collect()  # a leaked WAL file is closed here, under this test's warning filter, not in a later test


def test_milvus_lite_file_open_in_another_process_is_a_clear_error(tmp_path):
    pytest.importorskip("pymilvus")
    import subprocess
    import sys

    where = f"milvus-lite:{tmp_path / 'index.db'}"
    pipeline = Pipeline.open(where, embedder=HashEmbedder())
    pipeline.ingest_record(RECORDS[0])
    other = subprocess.run(
        [sys.executable, "-c", "import sys; from rag import Pipeline; from rag.hash_embedder import HashEmbedder; "
                               "Pipeline.open(sys.argv[1], embedder=HashEmbedder())", where],
        capture_output=True, text=True, timeout=120)
    assert other.returncode != 0 and "open in another process?" in other.stderr
    pipeline.directory.close()
    again = subprocess.run(
        [sys.executable, "-c", "import sys; from rag import Pipeline; from rag.hash_embedder import HashEmbedder; "
                               "print(Pipeline.open(sys.argv[1], embedder=HashEmbedder()).stats()['documents'])", where],
        capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and again.stdout.strip() == "1", again.stderr[-2000:]


@pytest.mark.parametrize("where", ["milvus://db.internal:19530/bad-name!", "milvus://:19530/rag",
                                   "milvus-lite:/tmp/not-a-db-file"])
def test_a_malformed_milvus_location_is_refused_before_connecting(where):
    pytest.importorskip("pymilvus")
    with pytest.raises(IndexStoreError, match="milvus"):
        Pipeline.open(where, embedder=HashEmbedder())


def test_locations_pick_their_engine(tmp_path):
    from index.backend import is_milvus

    assert is_milvus("milvus-lite:./x.db") and is_milvus("milvus://h:1/n")
    assert not is_milvus(tmp_path / "milvus-lite") and not is_milvus("./milvus/index")


def test_metadata_written_before_the_limits_is_shown_cut_at_the_depth_limit(where, monkeypatch):
    # An older version stored any depth (and then failed to list it); every engine shows it cut.
    monkeypatch.setattr("rag.pipeline.document_problem", lambda doc: None)
    monkeypatch.setattr("rag.loaders.check_document", lambda doc: None)
    deep: object = "leaf"
    for _ in range(300):
        deep = {"a": deep}
    pipeline = Pipeline.open(where, embedder=HashEmbedder())
    try:
        pipeline.ingest_record({"id": "deep", "text": "Owls sleep by day.", "metadata": {"lang": "en", "tree": deep}})
        cut: object = "[nested deeper than 16 levels: not shown]"
        for _ in range(15):
            cut = {"a": cut}
        expected = {"lang": "en", "tree": cut}
        assert pipeline.document("deep").metadata == expected
        assert [d.metadata for d in pipeline.documents()] == [expected]
    finally:
        pipeline.directory.close()


class _CountingClient:
    """Stands in for the Milvus client and counts the calls that reach the server."""

    def __init__(self, client) -> None:
        self._client = client
        self.calls: list[str] = []

    def __getattr__(self, name: str):
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def counted(*args, **kwargs):
            self.calls.append(f"{name} {args[0] if args else ''}".strip())
            return attribute(*args, **kwargs)

        return counted


@pytest.mark.parametrize("engine", ["milvus-lite", "milvus"], indirect=True)
def test_a_question_costs_four_calls_to_milvus_in_two_rounds(pipeline):
    """Two searches side by side, then the pool's sentences and its documents side by side: the chunks'
    text comes with the searches (it took a fifth call, and two more rounds, before)."""
    counting = _CountingClient(pipeline.directory._client)
    pipeline.directory._client = counting
    result = pipeline.ask("Which river is the longest in Africa?", k=3)
    assert result.passages[0].citation.doc_id == "nile"
    assert sorted(call.split()[0] for call in counting.calls) == ["query", "query", "search", "search"], counting.calls


@pytest.mark.parametrize("engine", ["milvus-lite"], indirect=True)
def test_a_failing_bm25_search_on_milvus_leaves_the_other_signals_to_answer(pipeline, caplog):
    """Milvus 2.5's BM25 can fail with NaN statistics while documents are replaced (seen with replicas
    under load): the question is answered from the dense and sentence signals, with a warning, not a 500."""
    client = pipeline.directory._client
    search = client.search

    def failing_bm25(collection, *args, **kwargs):
        if kwargs.get("anns_field") == "sparse":
            raise RuntimeError('Assert "std::isfinite(element.val)" => Invalid sparse row: NaN or Inf value')
        return search(collection, *args, **kwargs)

    client.search = failing_bm25
    try:
        result = pipeline.ask("Which river is the longest in Africa?", k=3)
        assert result.passages and result.passages[0].citation.doc_id == "nile"
        assert "answering without the lexical signal" in caplog.text
        client.search = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("connection refused"))
        with pytest.raises(RuntimeError, match="connection refused"):  # any other failure still surfaces
            pipeline.ask("Which river is the longest in Africa?", k=3)
    finally:
        client.search = search
