"""POST /ask: the ``rag ask --json`` object, and a 4xx envelope for every kind of bad input."""
from __future__ import annotations

import pytest

from api.schemas import AskPublic
from tests.api.checks import assert_error


def _without_timings(body: dict) -> dict:
    return {key: value for key, value in body.items() if key != "timings_ms"}


def test_ask_returns_exactly_the_cli_json_object(client, pipeline, news_doc):
    response = client.post("/ask", json={"question": "Who is the Chinese ambassador to Norway?", "k": 3})

    assert response.status_code == 200
    body = response.json()
    # `rag ask --json` prints AskResult.to_dict(); only the timings may differ between two runs.
    expected = pipeline.ask("Who is the Chinese ambassador to Norway?", k=3).to_dict()
    assert _without_timings(body) == _without_timings(expected)
    assert set(body["timings_ms"]) == set(expected["timings_ms"])
    assert not body["no_answer"]
    best = body["answers"][0]
    assert "Hou Yue" in best["text"] and best["text"] in best["sentence"]
    assert best["citation"]["doc_id"] == "news-1"


def test_the_documented_schema_describes_the_answer(client, news_doc):
    body = client.post("/ask", json={"question": "When does the fair open?"}).json()
    AskPublic.model_validate(body)  # extra="forbid": a field added to the CLI object must be documented


def test_the_answer_offsets_point_into_the_document_text(client, news_doc):
    body = client.post("/ask", json={"question": "Who is the Chinese ambassador to Norway?"}).json()
    text = client.get("/documents/news-1").json()["text"]
    for answer in body["answers"]:
        c = answer["citation"]
        assert text[c["char_start"]:c["char_end"]] == answer["text"]
        assert text[answer["sentence_start"]:answer["sentence_end"]] == answer["sentence"]


def test_k_defaults_to_5_and_is_honoured(client, pipeline):
    for n in range(8):
        client.post("/documents", json={"id": f"d{n}", "text": f"Report {n} about salmon farming in fjord {n}."})
    assert len(client.post("/ask", json={"question": "salmon farming"}).json()["passages"]) == 5
    assert len(client.post("/ask", json={"question": "salmon farming", "k": 2}).json()["passages"]) == 2


def test_an_empty_index_answers_no_answer(client):
    body = client.post("/ask", json={"question": "Anything at all?"}).json()
    assert body["no_answer"] is True and body["answers"] == []


def test_a_2000_character_question_is_accepted(client, news_doc):
    assert client.post("/ask", json={"question": "ambassador " * 181 + "x" * 9}).status_code == 200


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"question": ""}, 422, "invalid_question"),
    ({"question": " \n\t "}, 422, "invalid_question"),
    ({"question": "x" * 2001}, 422, "invalid_question"),
    ({"question": "hello", "k": 0}, 422, "invalid_question"),
    ({"question": "hello", "k": 51}, 422, "invalid_question"),
    ({"question": "hello", "k": -3}, 422, "invalid_question"),
    ({"question": "hello", "k": "5"}, 422, "invalid_request"),
    ({"question": "hello", "k": 2.5}, 422, "invalid_request"),
    ({"question": "hello", "k": True}, 422, "invalid_request"),
    ({"question": "hello", "k": None}, 422, "invalid_request"),
    ({"question": 42}, 422, "invalid_request"),
    ({"question": None}, 422, "invalid_request"),
    ({"question": ["a"]}, 422, "invalid_request"),
    ({}, 422, "invalid_request"),
    ({"q": "hello"}, 422, "invalid_request"),
    ({"question": "hello", "top_k": 3}, 422, "invalid_request"),
    ([{"question": "hello"}], 422, "invalid_request"),
    ("hello", 422, "invalid_request"),
])
def test_bad_questions_get_a_4xx_envelope(client, news_doc, body, status, code):
    assert_error(client.post("/ask", json=body), status, code)


@pytest.mark.parametrize("raw", [b"{", b'{"question": "a",}', b"\xff\xfe\x00", b"{'question': 'a'}", b"nan"])
def test_malformed_json_is_a_400(client, raw):
    error = assert_error(client.post("/ask", content=raw, headers={"content-type": "application/json"}),
                         400, "malformed_json")
    assert "JSON" in error["message"]


def test_a_missing_body_or_wrong_content_type_is_a_4xx(client):
    assert_error(client.post("/ask"), 422, "invalid_request")
    assert_error(client.post("/ask", content=b"question=hi", headers={"content-type": "text/plain"}),
                 422, "invalid_request")


def test_the_message_says_what_is_wrong(client):
    error = assert_error(client.post("/ask", json={"question": "hi", "k": "many"}), 422, "invalid_request")
    assert "k" in error["message"] and "integer" in error["message"]
    error = assert_error(client.post("/ask", json={"question": "hi", "k": 99}), 422, "invalid_question")
    assert "1 to 50" in error["message"]


def test_wrong_method_and_unknown_path_use_the_envelope_too(client):
    assert_error(client.get("/ask"), 405, "method_not_allowed")
    assert_error(client.get("/no/such/thing"), 404, "not_found")
