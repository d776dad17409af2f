"""``POST /feedback``: checked, stored with the caller's key name (never its token), counted, and refused
with a 422 that stores nothing."""
from __future__ import annotations

import pytest

from api.callers import KeyCache
from tests.api.checks import NEWS_TEXT, assert_error

SERVICE = "feedback-service-key"
PAY = "Salaries are paid on the 25th of each month."


@pytest.fixture
def served(make_client, pipeline):
    client = make_client(api_key=SERVICE)
    client.app.state.keys = KeyCache(ttl_s=0)
    auth = {"Authorization": f"Bearer {SERVICE}"}
    client.post("/documents", json={"id": "news-1", "title": "Expo news", "text": NEWS_TEXT}, headers=auth)
    client.post("/documents", json={"id": "pay", "title": "Payroll", "text": PAY, "groups": ["hr"]}, headers=auth)
    _, token = pipeline.add_key("hr-widget", ("hr",))
    return client, token


def _span(text: str, words: str, doc_id: str) -> dict:
    start = text.index(words)
    return {"doc_id": doc_id, "char_start": start, "char_end": start + len(words)}


def test_feedback_is_stored_with_the_key_name_and_counted(served, pipeline):
    client, token = served
    created = client.post("/feedback", json={"question": "When does the fair open?", "verdict": "wrong",
                                             "answer": _span(NEWS_TEXT, "in November", "news-1"), "note": "too short"})
    assert created.status_code == 201, created.text
    keyed = client.post("/feedback", json={"question": "When are salaries paid?", "verdict": "correct"},
                        headers={"Authorization": f"Bearer {token}"})
    assert keyed.status_code == 201, keyed.text
    stored = pipeline.feedback()
    assert [(f.id, f.verdict, f.key_name) for f in stored] == [(created.json()["id"], "wrong", None),
                                                               (keyed.json()["id"], "correct", "hr-widget")]
    assert stored[0].span.text == "in November" and stored[1].span.doc_id == "pay"
    assert token not in str([f.to_dict() for f in stored])
    metrics = client.get("/metrics", headers={"Authorization": f"Bearer {SERVICE}"}).text
    assert 'rag_feedback_total{verdict="wrong"} 1.0' in metrics and 'rag_feedback_total{verdict="correct"} 1.0' in metrics


@pytest.mark.parametrize("body, words", [
    ({"question": "x?", "verdict": "maybe"}, "verdict"),
    ({"question": "x?", "verdict": "wrong", "answer": {"doc_id": "pay", "char_start": 0, "char_end": 8}},
     "no document with id 'pay'"),  # another group's document: as unknown
    ({"question": "x?", "verdict": "wrong", "answer": {"doc_id": "nope", "char_start": 0, "char_end": 8}},
     "no document with id 'nope'"),
    ({"question": "x?", "verdict": "wrong", "answer": {"doc_id": "news-1", "char_start": 9, "char_end": 9}}, "char_start"),
    ({"question": "x?", "verdict": "wrong", "answer": {"doc_id": "news-1", "char_start": -1, "char_end": 9}},
     "char_start"),
    ({"question": "x?", "verdict": "no_answer", "answer": {"doc_id": "news-1", "char_start": 0, "char_end": 9}},
     "no answer"),
    ({"question": "", "verdict": "wrong"}, "empty"),
    ({"question": "x?", "verdict": "wrong", "note": "n" * 2001}, "note"),
    ({"question": "x?", "verdict": "wrong", "extra": 1}, "extra"),
    ({"question": "x?", "verdict": "wrong", "answer": {"doc_id": "news-1", "char_start": "0", "char_end": 9}},
     "char_start"),
])
def test_bad_feedback_is_a_422_and_stores_nothing(served, pipeline, body, words):
    client, _ = served
    response = client.post("/feedback", json=body)
    assert response.status_code == 422, response.text
    assert words in response.json()["error"]["message"]
    assert pipeline.feedback() == []
