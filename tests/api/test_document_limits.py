"""What a document may carry, over HTTP: a record that breaks a limit is a 422 naming the limit and
nothing is stored; an index written before the limits existed still lists and shows."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api import Settings, create_app
from rag import Pipeline
from rag.hash_embedder import HashEmbedder
from tests.api.checks import assert_error

FIXTURE = Path(__file__).parent / "data" / "deep-metadata-index"
CUT = "[nested deeper than 16 levels: not shown]"


def nested(depth: int, leaf: object = 1) -> dict:
    value: object = leaf
    for _ in range(depth):
        value = {"a": value}
    return value  # type: ignore[return-value]


def test_the_reported_sequence_is_refused_at_the_first_request(client):
    """The issue's report: 500 levels of metadata were accepted, then GET /documents answered 500."""
    error = assert_error(client.post("/documents", json={"text": "A fine sentence here.", "metadata": nested(500)}),
                         422, "bad_document")
    assert "nested deeper than the limit of 16 levels" in error["message"]
    listing = client.get("/documents")
    assert listing.status_code == 200 and listing.json()["count"] == 0


@pytest.mark.parametrize(("body", "status", "code", "message"), [
    ({"id": "a\u0000b", "text": "Fine text."}, 422, "bad_document", "control character (U+0000)"),
    ({"id": "..", "text": "Fine text."}, 422, "bad_document", "a URL path cannot name it"),
    ({"id": "é" * 300, "text": "Fine text."}, 422, "bad_document", "limit of 512 bytes"),
    ({"title": "t" * 1001, "text": "Fine text."}, 422, "invalid_request", "at most 1000 characters"),
    ({"title": "Bell\u0007", "text": "Fine text."}, 422, "bad_document", "control character (U+0007)"),
    ({"text": "Fine text.", "metadata": {"n": 2 ** 64}}, 422, "bad_document", "outside the 64-bit range"),
    ({"text": "Fine text.", "metadata": {f"k{i}": i for i in range(1001)}}, 422, "bad_document", "1,000 keys"),
    ({"text": "Fine text.", "metadata": {"blob": "x" * 20_000}}, 422, "bad_document", "over the limit of 16,384"),
])
def test_records_over_a_limit_are_422_naming_it(client, body, status, code, message):
    error = assert_error(client.post("/documents", json=body), status, code)
    assert message in error["message"]
    assert client.get("/documents").json()["count"] == 0


@pytest.mark.parametrize(("raw", "message"), [
    ('{"text": "Fine text.", "metadata": {"x": NaN}}', "NaN is not a JSON value"),
    ('{"text": "Fine text.", "metadata": {"x": -Infinity}}', "-Infinity is not a JSON value"),
    ('{"text": "Fine text.", "metadata": {"x": 1' + "0" * 5000 + "}}", "4300 digits"),
])
def test_what_python_parses_but_json_does_not_allow_is_a_400(client, raw, message):
    error = assert_error(client.post("/documents", content=raw, headers={"content-type": "application/json"}),
                         400, "malformed_json")
    assert message in error["message"]


@pytest.mark.parametrize(("raw", "field"), [
    ('{"text": "Half \\ud800 a pair."}', "text"),
    ('{"text": "Fine.", "metadata": {"k": "\\udfff"}}', "metadata.k"),
    ('{"text": "Fine.", "metadata": {"\\ud800": 1}}', "metadata has a key"),
])
def test_unpaired_surrogates_are_refused_not_a_500(client, raw, field):
    error = assert_error(client.post("/documents", content=raw, headers={"content-type": "application/json"}),
                         422, "bad_document")
    assert field in error["message"] and "unpaired surrogate" in error["message"]


def test_an_upload_id_gets_the_same_rules(client):
    response = client.post("/documents", files={"file": ("a.txt", b"Fine text.", "text/plain")}, data={"id": "a\tb"})
    assert "control character (U+0009)" in assert_error(response, 422, "invalid_request")["message"]


def test_a_jsonl_upload_keeps_its_good_records_and_says_why_each_bad_one_was_skipped(client):
    lines = [{"id": "ok", "text": "A good record."}, {"id": "deep", "text": "Too deep.", "metadata": nested(40)},
             {"id": "bad\u0000id", "text": "A bad id."}]
    data = "\n".join(json.dumps(line) for line in lines).encode()
    created = client.post("/documents", files={"file": ("r.jsonl", data, "application/jsonl")})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["doc_ids"] == ["ok"]
    reasons = [s["reason"] for s in body["skipped"]]
    assert "nested deeper than the limit" in reasons[0] and "control character (U+0000)" in reasons[1]


def test_metadata_at_the_limits_round_trips(client):
    metadata = {"deep": nested(15, "leaf"), "n": -(2 ** 63), "tags": ["a", "b"], "note": "é" * 100}
    assert client.post("/documents", json={"id": "m", "text": "Fine text.", "metadata": metadata}).status_code == 201
    assert client.get("/documents/m").json()["metadata"] == metadata
    assert client.get("/documents").json()["data"][0]["metadata"] == metadata


@pytest.fixture
def old_index(tmp_path: Path) -> Path:
    """A copy of an index written before the limits (see data/README.md), so opening it changes nothing here."""
    copy = tmp_path / "old-index"
    shutil.copytree(FIXTURE, copy)
    return copy


def test_an_index_written_before_the_limits_still_lists_and_shows(old_index: Path):
    pipeline = Pipeline.open(old_index, embedder=HashEmbedder(), create=False)
    with TestClient(create_app(Settings(index_dir=old_index), pipeline=pipeline),
                    raise_server_exceptions=False) as client:
        listing = client.get("/documents")
        shown = client.get("/documents/deep")
        asked = client.post("/ask", json={"question": "Where do owls sleep?"})
        deleted = client.delete("/documents/deep")
        after = client.get("/documents")
    assert listing.status_code == 200, listing.text
    listed = {d["doc_id"]: d["metadata"] for d in listing.json()["data"]}
    assert listed == {"deep": nested(16, CUT), "plain": {"lang": "en"}}
    assert shown.status_code == 200 and shown.json()["metadata"] == nested(16, CUT)
    assert shown.json()["text"] == "A fine sentence here. Owls sleep by day."
    assert asked.status_code == 200 and deleted.status_code == 204
    assert [d["doc_id"] for d in after.json()["data"]] == ["plain"]

