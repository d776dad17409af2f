"""Nothing leaks, on every engine: a property-based test over random documents, groups, keys, filters and
questions, through the HTTP API.

Each example changes the index (adds, replaces, relabels or deletes a document, as the service key),
then one caller — no key, a read key of some groups, a write key, or the service key — asks a question
(optionally with a ``where`` filter), lists the documents and gets one. Against a model of the index,
every passage and answer must cite a document the caller may read and the filter admits, the listing
and its count must be exactly the caller's documents, and a document outside the caller's groups must
get the very 404 an unknown id gets.

``RAG_ACCESS_EXAMPLES`` sets the examples per engine (default 500).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api import Settings, create_app
from api.callers import KeyCache
from domain.access import PUBLIC, Scope, admits, parse_where
from rag import Pipeline
from rag.hash_embedder import HashEmbedder
from tests.index.test_conformance import ENGINES, engine_location
from tests.reliability.report import record

EXAMPLES = int(os.environ.get("RAG_ACCESS_EXAMPLES", "500"))
SERVICE = "access-property-service-key"
GROUPS = [PUBLIC, "hr", "legal", "eng", "sales"]
WORDS = ("payroll holiday pension salary contract invoice ferry harbour salmon expo budget audit hiring "
         "laptop password office parking canteen").split()
KEY_GROUPS = {"hr-read": ("hr",), "legal-eng-read": ("legal", "eng"), "sales-write": ("sales",)}

sentences = st.lists(st.sampled_from(WORDS), min_size=3, max_size=10).map(lambda ws: " ".join(ws).capitalize() + ".")
documents = st.fixed_dictionaries({
    "id": st.sampled_from([f"doc-{n}" for n in range(24)]),
    "title": st.sampled_from(WORDS),
    "text": st.lists(sentences, min_size=1, max_size=4).map(" ".join),
    "groups": st.lists(st.sampled_from(GROUPS), min_size=1, max_size=3, unique=True),
    "metadata": st.fixed_dictionaries({"lang": st.sampled_from(["en", "de"]),
                                       "year": st.integers(min_value=2019, max_value=2025)}),
})
filters = st.one_of(st.none(), st.just({"lang": "en"}), st.just({"year": {"gte": 2022}}),
                    st.just({"lang": ["de"], "year": {"lte": 2021}}))
callers = st.sampled_from([None, "hr-read", "legal-eng-read", "sales-write", "service"])


@pytest.fixture(params=ENGINES)
def served(request, tmp_path: Path):
    if request.param != "local":
        pytest.importorskip("pymilvus")
    with engine_location(request.param, tmp_path) as where:
        pipeline = Pipeline.open(where, embedder=HashEmbedder())
        tokens = {name: pipeline.add_key(name, groups, write=name.endswith("write"))[1]
                  for name, groups in KEY_GROUPS.items()}
        tokens["service"] = SERVICE
        app = create_app(Settings(index_dir=where, api_key=SERVICE), pipeline=pipeline)
        app.state.keys = KeyCache(ttl_s=0)
        with TestClient(app, raise_server_exceptions=False) as client:
            yield request.param, client, tokens
        pipeline.directory.close()


def _scope(caller: str | None) -> Scope:
    if caller == "service":
        return Scope()
    return Scope(frozenset({PUBLIC, *KEY_GROUPS.get(caller, ())}))


def test_no_caller_ever_sees_a_document_outside_its_groups(served):
    engine, client, tokens = served
    model: dict[str, dict] = {}  # what the index holds, as the service key wrote it
    checked = {"asks": 0, "citations": 0, "hidden_gets": 0}

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(change=st.one_of(documents.map(lambda d: ("put", d)), st.sampled_from(["delete", "none"])),
           caller=callers, where=filters, question=st.one_of(sentences, st.sampled_from(WORDS)),
           k=st.integers(min_value=1, max_value=10), probe=st.integers(min_value=0, max_value=30),
           tempt=st.booleans())
    def example(change, caller, where, question, k, probe, tempt):
        service = {"Authorization": f"Bearer {SERVICE}"}
        if change == "delete" and model:
            doc_id = sorted(model)[probe % len(model)]
            assert client.delete(f"/documents/{doc_id}", headers=service).status_code == 204
            del model[doc_id]
        elif isinstance(change, tuple):
            doc = change[1]
            response = client.post("/documents", json=doc, headers=service)
            assert response.status_code == 201, response.text
            model[doc["id"]] = doc

        headers = {"Authorization": f"Bearer {tokens[caller]}"} if caller else {}
        scope = _scope(caller)
        readable = {d for d, doc in model.items() if scope.sees_groups(doc["groups"])}
        narrowed = scope.narrowed(parse_where(where))
        admitted = {d for d, doc in model.items() if admits(narrowed, doc["groups"], "api", doc["title"],
                                                            doc["metadata"])}
        hidden = sorted(set(model) - readable)
        if tempt and hidden:  # ask with the very words of a document the caller may not read
            question = model[hidden[probe % len(hidden)]]["text"][:300]
        body = {"question": question, "k": k, **({"where": where} if where else {})}
        asked = client.post("/ask", json=body, headers=headers)
        assert asked.status_code == 200, asked.text
        result = asked.json()
        cited = [p["citation"]["doc_id"] for p in result["passages"]] + [a["citation"]["doc_id"]
                                                                         for a in result["answers"]]
        assert set(cited) <= admitted, (caller, where, set(cited) - admitted)
        checked["asks"] += 1
        checked["citations"] += len(cited)

        listed = client.get("/documents", params={"limit": 1000}, headers=headers).json()
        assert {d["doc_id"] for d in listed["data"]} == readable and listed["count"] == len(readable)

        doc_id = f"doc-{probe}"
        got = client.get(f"/documents/{doc_id}", headers=headers)
        if doc_id in readable:
            assert got.status_code == 200 and got.json()["groups"] == sorted(model[doc_id]["groups"])
        unknown = client.get("/documents/no-such-document", headers=headers).json()["error"]
        for hidden_id in hidden + ([] if doc_id in model else [doc_id]):  # every hidden document, as unknown
            got = client.get(f"/documents/{hidden_id}", headers=headers)
            assert got.status_code == 404 and got.json()["error"] == {**unknown, "message": unknown["message"].replace(
                "no-such-document", hidden_id)}
            checked["hidden_gets"] += hidden_id in model

    example()
    record(f"access_property_{engine}", {"examples": EXAMPLES, **checked, "leaks": 0})
