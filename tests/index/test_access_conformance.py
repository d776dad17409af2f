"""Who may read what, on every engine: groups, scopes, ``where`` filters, relabelling and keys.

Filtered results are checked against :func:`domain.access.admits` (the rules in plain Python) by
brute force over every document.
"""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from domain.access import PUBLIC, Scope, admits, parse_where
from domain.errors import DocumentNotFoundError, PermissionDeniedError
from domain.keys import token_digest
from rag import Pipeline
from rag.hash_embedder import HashEmbedder

from tests.index.test_conformance import engine, engine_location, where  # noqa: F401 - fixtures

WORDS = ("river mountain payroll holiday pension salary forest desert ocean island volcano glacier "
         "harbour bridge castle library museum garden orchard meadow").split()


@pytest.fixture
def pipeline(where: str) -> Pipeline:  # noqa: F811 - the engine's location
    pipeline = Pipeline.open(where, embedder=HashEmbedder())
    yield pipeline
    pipeline.directory.close()


def _record(i: int, rng: random.Random) -> dict:
    groups = rng.choice([["public"], ["hr"], ["legal"], ["hr", "legal"], ["public", "hr"], ["eng"]])
    metadata = {"lang": rng.choice(["en", "de", "fr"]), "year": rng.choice([2019, 2020, 2021.5, 2023]),
                "date": rng.choice(["2024-01-31", "2024-02-01T09:30:00", "2023-12-31", "not a date"]),
                "tags": rng.sample(["a", "b", "c", 7, True], 2), "draft": rng.choice([True, False, 1, 0])}
    if rng.random() < 0.2:
        metadata.pop("lang")
    text = " ".join(rng.choice(WORDS) for _ in range(12)) + "."
    return {"id": f"doc-{i}", "title": f"{rng.choice(WORDS)} {i}", "text": text, "metadata": metadata,
            "groups": groups}


@pytest.fixture
def labelled(pipeline: Pipeline) -> tuple[Pipeline, list[dict]]:
    rng = random.Random(7)
    records = [_record(i, rng) for i in range(40)]
    for record in records:
        pipeline.ingest_record(record)
    return pipeline, records


def _admitted(records: list[dict], scope: Scope) -> set[str]:
    return {r["id"] for r in records if admits(scope, r["groups"], "api", r["title"], r["metadata"])}


FILTERS = [
    {"lang": "en"},
    {"lang": ["de", "fr"]},
    {"year": {"gte": 2020}},
    {"year": {"gte": 2020, "lte": 2021.5}},
    {"year": 2020},
    {"date": {"gte": "2024-01-01"}},
    {"date": {"lte": "2024-01-31"}},
    {"date": {"gte": "2024-02-01T00:00:00", "lte": "2024-02-01"}},
    {"tags": "a"},
    {"tags": [7, "c"]},
    {"tags": True},
    {"draft": True},
    {"draft": 1},
    {"title": {"prefix": "river"}},
    {"source": "api"},
    {"lang": "en", "year": {"lte": 2020}},
    {"date": {"prefix": "2024-0"}},
    {"nothing": "x"},
]
SCOPES = [Scope(frozenset({PUBLIC})), Scope(frozenset({"hr", PUBLIC})), Scope(frozenset({"legal"})), Scope()]


@pytest.mark.parametrize("where_filter", FILTERS, ids=[str(f) for f in FILTERS])
def test_filtered_reads_equal_a_brute_force_filter(labelled, where_filter):
    pipeline, records = labelled
    for base in SCOPES:
        scope = base.narrowed(parse_where(where_filter))
        expected = _admitted(records, scope)
        listed = {d.doc_id for d in pipeline.documents(scope=scope)}
        assert listed == expected, (base, where_filter)
        assert pipeline.stats(scope=scope)["documents"] == len(expected)
        # Every admitted chunk has a vector: a dense search for all of them finds exactly them.
        found = {p.citation.doc_id for p in pipeline.retrieve("river mountain payroll", k=50, mode="dense",
                                                               scope=scope)}
        assert found == expected, (base, where_filter)
        lexical = {p.citation.doc_id for p in pipeline.retrieve("river forest", k=50, mode="bm25", scope=scope)}
        assert lexical <= expected
        assert lexical == {r["id"] for r in records if r["id"] in expected
                           and ({"river", "forest"} & set(r["title"].split() + r["text"].rstrip(".").split()))}


def test_outside_the_scope_a_document_is_as_unknown(labelled):
    pipeline, records = labelled
    public = Scope(frozenset({PUBLIC}))
    hidden = next(r for r in records if PUBLIC not in r["groups"])
    with pytest.raises(DocumentNotFoundError):
        pipeline.document(hidden["id"], scope=public)
    with pytest.raises(DocumentNotFoundError):
        pipeline.read("what?", hidden["id"], scope=public)
    with pytest.raises(DocumentNotFoundError):
        pipeline.delete(hidden["id"], scope=public)
    result = pipeline.ask(hidden["text"], k=50, scope=public)
    cited = {p.citation.doc_id for p in result.passages} | {a.citation.doc_id for a in result.answers}
    assert cited <= _admitted(records, public)
    shown = pipeline.document(hidden["id"])  # unscoped: the operator sees everything
    assert shown.groups == tuple(sorted(hidden["groups"]))
    listed = {d.doc_id: d.groups for d in pipeline.documents()}
    assert listed[hidden["id"]] == tuple(sorted(hidden["groups"]))


def test_k_passages_come_back_when_a_scope_admits_one_percent(pipeline):
    records = [{"id": f"d{i}", "text": f"Filler about rivers and mountains, number {i}.",
                "groups": ["rare"] if i % 100 == 0 else ["public"]} for i in range(300)]
    for record in records:
        pipeline.ingest_record(record)
    rare = Scope(frozenset({"rare"}))
    for mode in ("dense", "hybrid", "bm25"):
        found = [p.citation.doc_id for p in pipeline.retrieve("rivers and mountains", k=3, mode=mode, scope=rare)]
        assert sorted(found) == ["d0", "d100", "d200"], mode


def test_new_groups_or_metadata_relabel_without_embedding_again(pipeline):
    record = {"id": "pay", "title": "Payroll", "text": "Salaries are paid on the 25th of each month.",
              "groups": ["hr"], "metadata": {"lang": "en"}}
    pipeline.ingest_record(record)
    public = Scope(frozenset({PUBLIC}))
    assert pipeline.retrieve("When are salaries paid?", k=1, scope=public) == []
    report = pipeline.ingest_record({**record, "groups": ["public", "hr"], "metadata": {"lang": "de"}})
    assert (report.updated, report.chunks_added, report.chunks_removed) == (["pay"], 0, 0)
    [found] = pipeline.retrieve("When are salaries paid?", k=1, scope=public)
    assert found.citation.doc_id == "pay"
    assert pipeline.document("pay").groups == ("hr", "public")
    assert pipeline.document("pay").metadata == {"lang": "de"}
    assert [d.doc_id for d in pipeline.documents(scope=public.narrowed(parse_where({"lang": "de"})))] == ["pay"]
    assert pipeline.documents(scope=public.narrowed(parse_where({"lang": "en"}))) == []
    assert pipeline.ingest_record({**record, "groups": ["public", "hr"], "metadata": {"lang": "de"}}).unchanged == ["pay"]
    assert pipeline.check().ok


def test_writes_stay_within_the_writers_groups(pipeline):
    pipeline.ingest_record({"id": "pub", "text": "Opening hours are nine to five."})
    pipeline.ingest_record({"id": "hr-doc", "text": "Payroll runs monthly.", "groups": ["hr"]})
    hr = frozenset({"hr"})
    denied = pipeline.ingest_record({"id": "pub", "text": "Opening hours changed.", "groups": ["hr"]}, within=hr)
    assert denied.denied == ["pub"] and not denied.updated  # it would take a public document over
    assert pipeline.ingest_record({"id": "x", "text": "Legal memo.", "groups": ["legal"]}, within=hr).denied == ["x"]
    assert pipeline.ingest_record({"id": "hr2", "text": "Pensions.", "groups": ["hr"]}, within=hr).added == ["hr2"]
    with pytest.raises(PermissionDeniedError):
        pipeline.delete("pub", within=hr)
    pipeline.delete("hr-doc", within=hr, scope=Scope(frozenset({"hr", PUBLIC})))
    assert {d.doc_id for d in pipeline.documents()} == {"pub", "hr2"}


def test_keys_are_stored_as_digests(where, pipeline):  # noqa: F811
    key, token = pipeline.add_key("help-widget", ("support",))
    _, writer_token = pipeline.add_key("hr-writer", ("hr",), write=True)
    assert token.startswith("rag_") and len(token) > 40 and token != writer_token
    with pytest.raises(ValueError, match="exists"):
        pipeline.add_key("help-widget", ("x",))
    assert pipeline.key_for(token) == key
    assert pipeline.key_for(token + "x") is None and pipeline.key_for("") is None
    assert [(k.name, k.groups, k.write) for k in pipeline.keys()] == [("help-widget", ("support",), False),
                                                                        ("hr-writer", ("hr",), True)]
    assert key.scope == Scope(frozenset({"support", PUBLIC}))
    if not where.startswith("milvus"):
        stored = b"".join(p.read_bytes() for p in Path(where).glob("store.sqlite*"))
        assert token.encode() not in stored and token_digest(token).encode() in stored
    assert pipeline.revoke_key("help-widget") and not pipeline.revoke_key("help-widget")
    assert pipeline.key_for(token) is None and pipeline.key_for(writer_token).name == "hr-writer"
