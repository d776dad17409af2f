"""/documents: create from JSON or an upload (idempotent), list with pagination, show, delete."""
from __future__ import annotations

import json

import pytest

from tests.api.checks import NEWS_TEXT, assert_error
from tests.conftest import NEWS_DIR


def test_posting_a_record_creates_it_with_its_chunk_count(client, pipeline):
    response = client.post("/documents", json={"id": "r1", "title": "Salmon", "text": NEWS_TEXT,
                                               "metadata": {"lang": "en"}})

    assert response.status_code == 201
    body = response.json()
    assert body["doc_id"] == "r1" and body["status"] == "added" and body["doc_ids"] == ["r1"]
    listed = {d.doc_id: d for d in pipeline.documents()}
    assert body["chunks"] == listed["r1"].n_chunks >= 1
    assert response.headers["location"] == "/documents/r1"


def test_posting_the_same_content_again_changes_nothing(client, pipeline):
    record = {"id": "r1", "title": "Salmon", "text": NEWS_TEXT}
    first = client.post("/documents", json=record).json()
    listed = [d.to_dict() for d in pipeline.documents()]

    again = client.post("/documents", json=record)

    assert again.status_code == 201
    assert again.json() == {**first, "status": "unchanged"}
    assert [d.to_dict() for d in pipeline.documents()] == listed


def test_posting_changed_content_under_the_same_id_updates_it(client):
    client.post("/documents", json={"id": "r1", "text": "The old text about herring."})
    response = client.post("/documents", json={"id": "r1", "text": "The new text about mackerel."})
    assert response.status_code == 201 and response.json()["status"] == "updated"
    assert client.get("/documents/r1").json()["text"] == "The new text about mackerel."
    assert client.get("/documents").json()["count"] == 1


def test_a_record_without_an_id_gets_a_stable_one(client):
    first = client.post("/documents", json={"text": "Untitled note about cod."}).json()
    second = client.post("/documents", json={"text": "Untitled note about cod."}).json()
    assert first["doc_id"] == second["doc_id"] and second["status"] == "unchanged"


def test_show_returns_metadata_and_the_full_text(client, news_doc):
    body = client.get("/documents/news-1").json()
    assert body == {"doc_id": "news-1", "title": "Expo news", "source": "api", "groups": ["public"], "metadata": {"lang": "en"},
                    "pages": None, "excluded": [], "text": NEWS_TEXT}


def test_ids_with_slashes_and_spaces_round_trip(client):
    created = client.post("/documents", json={"id": "guides/faq one", "text": "Returns take thirty days."})
    assert created.headers["location"] == "/documents/guides%2Ffaq%20one"
    assert client.get(created.headers["location"]).json()["doc_id"] == "guides/faq one"
    assert client.delete("/documents/guides%2Ffaq%20one").status_code == 204


def test_list_is_paginated_with_offset_and_limit(client):
    for n in range(5):
        client.post("/documents", json={"id": f"d{n}", "text": f"Document number {n} about trout."})

    page = client.get("/documents", params={"offset": 1, "limit": 2}).json()

    assert [d["doc_id"] for d in page["data"]] == ["d1", "d2"]
    assert page["count"] == 5 and page["offset"] == 1 and page["limit"] == 2
    assert "text" not in page["data"][0] and page["data"][0]["n_chunks"] >= 1
    assert [d["doc_id"] for d in client.get("/documents", params={"offset": 4}).json()["data"]] == ["d4"]
    assert client.get("/documents", params={"offset": 10}).json()["data"] == []


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "ten"}])
def test_bad_pagination_is_a_422(client, params):
    assert_error(client.get("/documents", params=params), 422, "invalid_request")


def test_delete_removes_the_document_everywhere(client, news_doc):
    assert client.delete("/documents/news-1").status_code == 204

    assert_error(client.get("/documents/news-1"), 404, "document_not_found")
    assert client.get("/documents").json()["count"] == 0
    assert client.post("/ask", json={"question": "Who is the Chinese ambassador to Norway?"}).json()["no_answer"]
    assert_error(client.delete("/documents/news-1"), 404, "document_not_found")


def test_unknown_documents_are_404(client):
    assert_error(client.get("/documents/nope"), 404, "document_not_found")
    assert_error(client.delete("/documents/nope"), 404, "document_not_found")


# ---- uploads ----

def _upload(client, name: str, data: bytes, **fields: str):
    return client.post("/documents", files={"file": (name, data, "application/octet-stream")}, data=fields)


def test_uploading_a_text_file(client):
    response = _upload(client, "notes.md", b"# Fishing notes\n\nCod is caught in winter.\n")
    assert response.status_code == 201
    body = response.json()
    doc = client.get(f"/documents/{body['doc_id']}").json()
    assert doc["title"] == "Fishing notes" and doc["source"] == "upload:notes.md"
    assert doc["text"] == "# Fishing notes\n\nCod is caught in winter.\n"
    assert _upload(client, "notes.md", b"# Fishing notes\n\nCod is caught in winter.\n").json()["status"] == "unchanged"


def test_uploading_with_an_id_and_a_path_in_the_file_name(client):
    response = _upload(client, "../../etc/report.txt", b"The harbour reopened in May.", id="harbour")
    assert response.status_code == 201 and response.json()["doc_id"] == "harbour"
    assert client.get("/documents/harbour").json()["source"] == "upload:report.txt"


def test_uploading_html_and_jsonl(client):
    html = b"<html><head><title>Harbour</title></head><body><nav>Home | About</nav><main><p>The harbour " \
           b"reopened in May after the storm repairs were finished.</p></main></body></html>"
    assert _upload(client, "harbour.html", html).status_code == 201
    records = "\n".join(json.dumps({"id": f"j{n}", "text": f"Record {n} on herring quotas."}) for n in range(3))
    body = _upload(client, "quotas.jsonl", records.encode()).json()
    assert body["doc_ids"] == ["j0", "j1", "j2"] and body["status"] == "added"


@pytest.mark.parametrize(("name", "data", "status", "code"), [
    ("tool.exe", b"MZ\x90\x00binary", 415, "unsupported_format"),
    ("noext", b"plain words", 415, "unsupported_format"),
    ("latin1.txt", "Fjørd sædvanlig".encode("latin-1"), 422, "bad_document"),
    ("binary.txt", b"\x00\x01\x02\x03" * 100, 422, "bad_document"),
    ("empty.txt", b"", 422, "bad_document"),
    ("blank.md", b"   \n\n  ", 422, "bad_document"),
    ("broken.json", b'{"text": "unterminated', 422, "bad_document"),
    ("records.json", b'[{"title": "no text"}]', 422, "bad_document"),
    ("broken.pdf", b"%PDF-1.4 not really a pdf", 422, "bad_document"),
])
def test_bad_uploads_are_4xx_and_lose_nothing(client, news_doc, name, data, status, code):
    before = client.get("/documents").json()

    assert_error(_upload(client, name, data), status, code)

    assert client.get("/documents").json() == before
    answer = client.post("/ask", json={"question": "Who is the Chinese ambassador to Norway?"}).json()
    assert "Hou Yue" in answer["answers"][0]["text"]


def test_an_upload_needs_a_file_field(client):
    assert_error(client.post("/documents", data={"id": "x"}, files={"other": ("a.txt", b"text")}),
                 422, "invalid_request")


@pytest.mark.parametrize("content_type", ["multipart/form-data; boundary=xyz", "multipart/form-data"])
def test_a_garbled_multipart_body_is_a_400(client, content_type):
    response = client.post("/documents", content=b"--xyz\r\nnot a part", headers={"content-type": content_type})
    assert_error(response, 400, "bad_upload")


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"title": "no text"}, 422, "invalid_request"),
    ({"text": ""}, 422, "bad_document"),
    ({"text": "   "}, 422, "bad_document"),
    ({"text": 12}, 422, "invalid_request"),
    ({"text": "ok", "metadata": "not an object"}, 422, "invalid_request"),
    ({"text": "ok", "id": ""}, 422, "invalid_request"),
    ({"text": "ok", "id": 7}, 422, "invalid_request"),
    ({"text": "ok", "colour": "red"}, 422, "invalid_request"),
    (["a", "list"], 422, "invalid_request"),
])
def test_bad_records_are_4xx(client, body, status, code):
    assert_error(client.post("/documents", json=body), status, code)
    assert client.get("/documents").json()["count"] == 0


def test_malformed_json_record_is_a_400(client):
    assert_error(client.post("/documents", content=b'{"text": ', headers={"content-type": "application/json"}),
                 400, "malformed_json")


def test_other_content_types_are_415(client):
    assert_error(client.post("/documents", content=b"text", headers={"content-type": "text/plain"}),
                 415, "unsupported_media_type")
    assert_error(client.post("/documents", content=b"text"), 415, "unsupported_media_type")


def test_uploads_over_the_limit_are_413(make_client):
    client = make_client(max_upload_mb=0.01)  # 10 KiB
    big = b"All work and no play makes Jack a dull boy. " * 1000  # 44 KB

    error = assert_error(_upload(client, "big.txt", big), 413, "payload_too_large")

    assert "RAG_MAX_UPLOAD_MB" in error["message"]
    assert_error(client.post("/documents", json={"text": big.decode()}), 413, "payload_too_large")
    assert client.get("/documents").json()["count"] == 0
    assert _upload(client, "small.txt", big[:5000]).status_code == 201


def test_a_document_lists_what_was_left_out_of_the_index(client):
    text = (NEWS_DIR / "004_6daf74257dfb5746.txt").read_bytes()
    created = _upload(client, "expo.txt", text).json()
    assert created["status"] == "added" and created["excluded_chars"] > 0
    doc = client.get(f"/documents/{created['doc_id']}").json()
    assert doc["text"] == text.decode("utf-8")
    [excluded] = doc["excluded"]
    assert excluded["reason"] == "footer" and excluded["end"] - excluded["start"] == created["excluded_chars"]
    assert "ICP备" in doc["text"][excluded["start"]:excluded["end"]]
    assert doc["title"] == "Over 500 Global Exhibitors Bolstering Chongqing's Vision as an International Consumption Hub"


def test_uploading_a_word_file(client):
    from tests.rag.test_docx import word_file

    response = _upload(client, "lift.docx", word_file(title="Building manual"))
    assert response.status_code == 201, response.text
    doc = client.get(f"/documents/{response.json()['doc_id']}").json()
    assert doc["title"] == "Building manual" and doc["source"] == "upload:lift.docx" and doc["excluded"] == []
    assert "Contact us at the front desk if the lift is broken." in doc["text"]
    answer = client.post("/ask", json={"question": "What is the shared code?"}).json()
    assert any("Shared code C-9" in p["text"] for p in answer["passages"])


def test_a_corrupt_word_upload_is_422_with_its_reason(client, news_doc):
    error = assert_error(_upload(client, "broken.docx", b"PK\x03\x04 not a zip"), 422, "bad_document")
    assert "unreadable Word file" in error["message"]
    assert client.get("/documents").json()["count"] == 1
