"""Stateful fuzzing of ``/documents`` and ``/ask``, on every engine: hypothesis drives sequences of
requests (records and uploads with hostile ids, titles, text and metadata; listings; gets; questions;
deletes) against the app and a model of what the index should hold. Whatever ``POST /documents``
accepts must then be listable, gettable (as it was sent), askable (every citation inside a live
document, quoting it exactly) and deletable; nothing answers a 5xx; a refusal stores nothing.

``RAG_FUZZ_STATEFUL_EXAMPLES`` sets the sequences per engine (default 60, up to 20 steps each).
"""
from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, multiple, rule, run_state_machine_as_test

from api import Settings, create_app
from rag import Pipeline
from rag.hash_embedder import HashEmbedder
from tests.index.test_conformance import ENGINES, engine_location
from tests.reliability.report import record

EXAMPLES = int(os.environ.get("RAG_FUZZ_STATEFUL_EXAMPLES", "60"))
KEY = "stateful-fuzz-key-5e884898da28"
AUTH = {"Authorization": f"Bearer {KEY}"}
STATUSES: dict[str, Counter[str]] = {}

WORDS = ["owls", "sleep", "by", "day", "the", "harbour", "master", "logs", "every", "ship", "ferries", "leave",
         "at", "dawn", "salmon", "expo", "opens", "in", "November", "Oslo", "2024", "returns", "take", "30", "days"]
# Any code point, surrogates and control characters included: JSON can carry them all as escapes.
ANY_CHAR = st.characters(codec=None, categories=None)
# Random text rarely lands on the hostile cases, so they are drawn on purpose too.
HOSTILE = ["\ud800", "tail \udfff", "nul\x00", "bell\x07", "tab\there", "é" * 300, "x" * 1001, "", " "]


def strings(max_size: int) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(HOSTILE), st.text(ANY_CHAR, max_size=max_size))


sentences = st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(lambda ws: " ".join(ws).capitalize() + ".")
texts = st.one_of(st.lists(sentences, min_size=1, max_size=6).map(" ".join),
                  strings(80), st.sampled_from(["", "   ", "\n\t"]))
ids = st.one_of(st.sampled_from(["faq-1", "faq-2", "guides/faq one", "a/../b", "0", ".", "..", " ", "é" * 300,
                                 "x" * 513, 'say "hi"', "back\\slash", "e\\f", "it's"]),
                strings(20))
titles = st.one_of(st.none(), strings(40), st.sampled_from(["Returns", "t" * 1001]))
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
                    st.sampled_from([2 ** 63, -(2 ** 63) - 1, float("nan"), float("inf")]),
                    st.floats(allow_nan=True, allow_infinity=True), strings(20))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(strings(8), inner,
                                                                            max_size=4)), max_leaves=12)


def _deep(value: object, depth: int) -> dict:
    for _ in range(depth):
        value = {"a": value}
    return value  # type: ignore[return-value]


metadatas = st.one_of(st.none(), st.dictionaries(strings(8), json_values, max_size=5),
                      st.builds(_deep, scalars, st.sampled_from([1, 15, 16, 17, 40, 300, 600])),
                      st.builds(lambda n: {f"k{i}": i for i in range(n)}, st.sampled_from([10, 1000, 1001])),
                      st.builds(lambda n: {"blob": "x" * n}, st.sampled_from([100, 16_000, 20_000])))
group_names = st.one_of(st.sampled_from(["public", "hr", "legal.2024", "a-b_c", "x" * 64, "x" * 65, "", "-no",
                                         "with space", "Ünïcode"]), strings(12))
groups = st.one_of(st.lists(group_names, max_size=4), st.lists(st.just("g"), min_size=33, max_size=33),
                   st.sampled_from(["public", None, 7, {"a": 1}]))
records = st.fixed_dictionaries({"text": texts}, optional={"id": ids, "title": titles, "metadata": metadatas,
                                                           "groups": groups})
questions = st.one_of(sentences, strings(60))
# Filters: well-formed ones, hostile operators and values, and anything JSON.
conditions = st.one_of(scalars, st.lists(scalars, max_size=3), st.just([]),
                       st.dictionaries(st.sampled_from(["prefix", "gte", "lte", "between", "$ne", ""]), scalars,
                                       max_size=3),
                       st.sampled_from([{"gte": "2024-01-01"}, {"lte": "2024-13-45"}, {"gte": 1, "lte": "2024-01-01"},
                                        {"prefix": ""}, [1] * 101]))
wheres = st.one_of(st.dictionaries(st.one_of(st.sampled_from(["lang", "source", "title", "a.b", "x" * 65]), strings(8)),
                                   conditions, max_size=4),
                   st.builds(lambda n: {f"k{i}": 1 for i in range(n)}, st.sampled_from([16, 17])), json_values)


def _body(value: object) -> bytes:
    # Python's json writes NaN/Infinity (invalid JSON, and the server must say so) and escapes surrogates.
    return json.dumps(value).encode()


def _path(doc_id: str) -> str:
    return "/documents/" + quote(doc_id.encode("utf-8", "surrogatepass"), safe="")


class DocumentsMachine(RuleBasedStateMachine):
    """One engine's app, and the documents it should hold (``self.expected``: id -> posted record or None)."""

    client: TestClient
    engine: str
    docs = Bundle("docs")

    def _call(self, name: str, method: str, url: str, *, json_body: object = None, **kwargs):
        if json_body is not None:
            kwargs.update(content=_body(json_body), headers={"content-type": "application/json"})
        response = self.client.request(method, url, **kwargs)
        STATUSES.setdefault(f"{self.engine} {name}", Counter())[str(response.status_code)] += 1
        assert response.status_code < 500, (method, url, response.status_code, response.text[:300])
        assert response.status_code < 400 or set(response.json()) == {"error"}, response.text[:300]
        return response

    @initialize()
    def start_empty(self) -> None:
        for doc in self._listing():
            self._call("delete", "DELETE", _path(doc["doc_id"]))
        self.expected: dict[str, dict | None] = {}

    def _listing(self) -> list[dict]:
        response = self._call("list", "GET", "/documents", params={"limit": 1000})
        assert response.status_code == 200
        return response.json()["data"]

    @rule(target=docs, record=records)
    def post_record(self, record: dict):
        before = self._ids()
        response = self._call("post record", "POST", "/documents", json_body=record)
        if response.status_code != 201:
            assert self._ids() == before  # a refusal stores nothing
            return multiple()
        doc_id = response.json()["doc_id"]
        self.expected[doc_id] = record
        return doc_id

    @rule(target=docs, lines=st.lists(records, min_size=1, max_size=4), name=st.sampled_from(["r.jsonl", "r.json"]),
          doc_id=st.one_of(st.none(), ids), form_groups=st.one_of(st.none(), strings(20), st.just("hr,legal")))
    def upload_records(self, lines: list[dict], name: str, doc_id: str | None, form_groups: str | None):
        data = b"\n".join(_body(line) for line in lines) if name.endswith("l") else _body(lines)
        before = self._ids()
        form = {} if doc_id is None else {"id": doc_id.encode("utf-8", "surrogatepass").decode("utf-8", "replace")}
        if form_groups is not None:
            form["groups"] = form_groups.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        response = self._call("upload", "POST", "/documents", files={"file": (name, data, "application/json")},
                              data=form)
        if response.status_code != 201:
            assert self._ids() == before
            return multiple()
        created = response.json()["doc_ids"]
        for created_id in created:
            self.expected[created_id] = None  # its record is one of lines, under a default id
        return multiple(*created)

    @rule()
    def list_documents(self) -> None:
        assert self._ids() == set(self.expected)

    def _ids(self) -> set[str]:
        return {doc["doc_id"] for doc in self._listing()}

    @rule(doc_id=docs)
    def get_document(self, doc_id: str) -> None:
        response = self._call("get", "GET", _path(doc_id))
        if doc_id not in self.expected:
            assert response.status_code == 404
            return
        assert response.status_code == 200, response.text[:300]
        body = response.json()
        sent = self.expected[doc_id]
        if sent is not None:
            assert body["text"] == sent["text"]
            assert body["metadata"] == (sent.get("metadata") or {})
            sent_groups = sent.get("groups") or ["public"]
            assert body["groups"] == sorted(set([sent_groups] if isinstance(sent_groups, str) else sent_groups))

    @rule(question=questions, k=st.integers(1, 8), where=st.one_of(st.none(), wheres))
    def ask(self, question: str, k: int, where: object) -> None:
        body = {"question": question, "k": k, **({} if where is None else {"where": where})}
        response = self._call("ask", "POST", "/ask", json_body=body)
        if response.status_code != 200:
            assert response.status_code == 422, response.text[:300]
            return
        body = response.json()
        cited = [a["citation"] for a in body["answers"]] + [p["citation"] for p in body["passages"]]
        quoted = [a["text"] for a in body["answers"]] + [p["text"] for p in body["passages"]]
        for citation, text in zip(cited, quoted, strict=True):
            assert citation["doc_id"] in self.expected
            doc = self._call("get", "GET", _path(citation["doc_id"])).json()
            assert doc["text"][citation["char_start"]:citation["char_end"]] == text

    @rule(question=questions, verdict=st.one_of(st.sampled_from(["correct", "wrong", "no_answer"]), strings(10)),
          doc_id=st.one_of(docs, ids), span=st.tuples(st.integers(-5, 400), st.integers(-5, 400)),
          shape=st.sampled_from(["span", "none", "junk"]), note=st.one_of(st.none(), strings(40), json_values))
    def give_feedback(self, question: str, verdict: str, doc_id: str, span: tuple[int, int], shape: str,
                      note: object) -> None:
        body: dict = {"question": question, "verdict": verdict}
        if shape == "span":
            body["answer"] = {"doc_id": doc_id, "char_start": span[0], "char_end": span[1]}
        elif shape == "junk":
            body["answer"] = {"doc_id": span[0], "char_start": doc_id, "extra": note}
        if note is not None:
            body["note"] = note
        response = self._call("feedback", "POST", "/feedback", json_body=body)
        assert response.status_code in (201, 400, 422), response.text[:300]
        if response.status_code == 201:
            assert shape != "junk" and (shape == "none" or doc_id in self.expected)

    @rule(doc_id=consumes(docs))
    def delete_document(self, doc_id: str) -> None:
        response = self._call("delete", "DELETE", _path(doc_id))
        assert response.status_code == (204 if doc_id in self.expected else 404), response.text[:300]
        self.expected.pop(doc_id, None)
        assert self._call("get", "GET", _path(doc_id)).status_code == 404


@pytest.mark.parametrize("engine", ENGINES)
def test_accepted_documents_stay_listable_gettable_askable_and_deletable(engine: str, tmp_path: Path):
    if engine != "local":
        pytest.importorskip("pymilvus")
    with engine_location(engine, tmp_path) as where:
        pipeline = Pipeline.open(where, embedder=HashEmbedder())
        try:
            with TestClient(create_app(Settings(index_dir=where, api_key=KEY), pipeline=pipeline),
                            raise_server_exceptions=False, headers=AUTH) as client:
                machine = type("Machine", (DocumentsMachine,), {"client": client, "engine": engine})
                run_state_machine_as_test(machine, settings=settings(
                    max_examples=EXAMPLES, stateful_step_count=20, deadline=None, database=None, derandomize=True,
                    suppress_health_check=list(HealthCheck)))
        finally:
            pipeline.directory.close()
    record(f"fuzz_stateful_{engine}", {"sequences": EXAMPLES,
                                       "statuses": {op: dict(sorted(c.items())) for op, c in STATUSES.items()
                                                    if op.startswith(engine + " ")}})
    ok = STATUSES.get(f"{engine} post record", Counter())["201"] + STATUSES.get(f"{engine} upload", Counter())["201"]
    assert ok >= EXAMPLES // 2, STATUSES  # the sequences reached the stored state, not only refusals
