"""Who may read what over HTTP: keys with groups, the public, ``where`` filters and writes within groups."""
from __future__ import annotations

import logging

import pytest

from api.callers import KeyCache
from tests.api.checks import assert_error

SERVICE_KEY = "service-key-for-tests"
HELP = {"id": "hours", "title": "Opening hours", "text": "The help desk opens at nine and closes at five.",
        "metadata": {"lang": "en", "year": 2024}}
PAY = {"id": "pay", "title": "Payroll", "text": "Salaries are paid on the 25th of each month.", "groups": ["hr"],
       "metadata": {"lang": "en", "year": 2023}}
MEMO = {"id": "memo", "title": "Legal memo", "text": "The contract with the caterer ends in March.",
        "groups": ["legal"], "metadata": {"lang": "de"}}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def served(make_client, pipeline):
    """A service with a key, three documents in three groups, an HR read key and an HR write key."""
    client = make_client(api_key=SERVICE_KEY)
    client.app.state.keys = KeyCache(ttl_s=0)  # revocations seen at once in these tests
    for record in (HELP, PAY, MEMO):
        assert client.post("/documents", json=record, headers=_bearer(SERVICE_KEY)).status_code == 201
    _, reader = pipeline.add_key("hr-widget", ("hr",))
    _, writer = pipeline.add_key("hr-writer", ("hr",), write=True)
    return client, reader, writer


def _listed(client, headers=None) -> tuple[set[str], int]:
    body = client.get("/documents", headers=headers or {}).json()
    return {d["doc_id"] for d in body["data"]}, body["count"]


def _cited(body: dict) -> set[str]:
    return {p["citation"]["doc_id"] for p in body["passages"]} | {a["citation"]["doc_id"] for a in body["answers"]}


def test_each_caller_sees_its_groups_and_public_only(served):
    client, reader, _ = served
    assert _listed(client) == ({"hours"}, 1)
    assert _listed(client, _bearer(reader)) == ({"hours", "pay"}, 2)
    assert _listed(client, _bearer(SERVICE_KEY)) == ({"hours", "pay", "memo"}, 3)
    assert client.get("/documents/pay").status_code == 404  # as for an unknown id: not a 403
    assert_error(client.get("/documents/memo", headers=_bearer(reader)), 404, "document_not_found")
    shown = client.get("/documents/pay", headers=_bearer(reader)).json()
    assert shown["groups"] == ["hr"] and shown["text"] == PAY["text"]
    public = client.post("/ask", json={"question": "When are salaries paid?", "k": 50}).json()
    assert _cited(public) <= {"hours"}
    hr = client.post("/ask", json={"question": "When are salaries paid?"}, headers=_bearer(reader)).json()
    assert hr["answers"] and hr["answers"][0]["citation"]["doc_id"] == "pay"
    assert "25th" in hr["answers"][0]["text"]
    assert client.get("/readyz").json()["documents"] == 1  # unauthenticated: public counts only


def test_unknown_and_revoked_keys_get_401(served, pipeline):
    client, reader, _ = served
    assert_error(client.get("/documents", headers=_bearer("rag_made-up")), 401, "unauthorized")
    assert pipeline.revoke_key("hr-widget")
    assert_error(client.post("/ask", json={"question": "pay?"}, headers=_bearer(reader)), 401, "unauthorized")


def test_where_narrows_the_answer_and_bad_filters_are_422(served):
    client, reader, _ = served
    asked = client.post("/ask", json={"question": "When are salaries paid?", "k": 50, "where": {"year": {"gte": 2024}}},
                        headers=_bearer(reader)).json()
    assert _cited(asked) <= {"hours"}
    asked = client.post("/ask", json={"question": "opening", "k": 50, "where": {"title": {"prefix": "Pay"}}},
                        headers=_bearer(SERVICE_KEY)).json()
    assert _cited(asked) == {"pay"}
    for where, words in [({"year": {"between": [1, 2]}}, "unknown operator"), ({"year": {"gte": "soon"}}, "gte"),
                         ({"title": 5}, "string"), ({"lang": None}, "not a string"), ({"a b": 1}, "cannot be filtered"),
                         ({"lang": []}, "list")]:
        error = assert_error(client.post("/ask", json={"question": "hours?", "where": where}), 422, "invalid_question")
        assert words in error["message"], (where, error)
    assert_error(client.post("/ask", json={"question": "hours?", "where": "lang=en"}), 422, "invalid_request")


def test_write_keys_write_within_their_groups(served):
    client, reader, writer = served
    created = client.post("/documents", json={"id": "leave", "text": "Annual leave is 25 days."},
                          headers=_bearer(writer))
    assert created.status_code == 201  # without groups: the key's own, not public
    assert client.get("/documents/leave", headers=_bearer(SERVICE_KEY)).json()["groups"] == ["hr"]
    assert_error(client.post("/documents", json={"text": "Public notice.", "groups": ["public"]},
                             headers=_bearer(writer)), 403, "forbidden")
    assert_error(client.post("/documents", json={**HELP, "groups": ["hr"]}, headers=_bearer(writer)), 403, "forbidden")
    assert_error(client.delete("/documents/hours", headers=_bearer(writer)), 403, "forbidden")
    assert_error(client.delete("/documents/memo", headers=_bearer(writer)), 404, "document_not_found")
    assert_error(client.post("/documents", json={"text": "x"}, headers=_bearer(reader)), 403, "forbidden")
    assert_error(client.delete("/documents/pay", headers=_bearer(reader)), 403, "forbidden")
    uploaded = client.post("/documents", files={"file": ("rota.txt", b"The rota changes on Mondays.")},
                           data={"groups": "hr"}, headers=_bearer(writer))
    assert uploaded.status_code == 201, uploaded.text
    assert_error(client.post("/documents", files={"file": ("x.txt", b"Text.")}, data={"groups": "bad name!"},
                             headers=_bearer(writer)), 422, "invalid_request")
    assert client.delete("/documents/pay", headers=_bearer(writer)).status_code == 204
    assert _listed(client, _bearer(SERVICE_KEY))[0] == {"hours", "memo", "leave", uploaded.json()["doc_id"]}


def test_relabelling_over_http_embeds_nothing(served):
    client, _, _ = served
    answered = client.post("/documents", json={**PAY, "groups": ["hr", "public"]}, headers=_bearer(SERVICE_KEY)).json()
    assert answered["status"] == "updated"
    assert "pay" in _listed(client)[0]


def test_without_a_service_key_keys_still_close_anonymous_writes(make_client, pipeline):
    client = make_client()
    client.app.state.keys = KeyCache(ttl_s=0)
    assert client.post("/documents", json={"text": "Open for writing."}).status_code == 201
    pipeline.add_key("editor", ("docs",), write=True)
    assert_error(client.post("/documents", json={"text": "Now closed."}), 401, "unauthorized")


def test_tokens_are_never_logged(served, pipeline, caplog):
    caplog.set_level(logging.DEBUG)
    client, reader, writer = served
    client.post("/ask", json={"question": "pay?"}, headers=_bearer(reader))
    client.post("/documents", json={"text": "A note."}, headers=_bearer(writer))
    client.get("/documents", headers=_bearer(reader + "x"))
    assert reader not in caplog.text and writer not in caplog.text
