"""``rag serve`` in its own process, on loopback, with the real bundled model and the shared news."""
from __future__ import annotations

import signal

import httpx
import pytest

from rag.embed import DEFAULT_MODEL_NAME, INT8_SUFFIX
from tests.api.servers import serve_process
from tests.conftest import AMBASSADOR_FILE, NEWS_DIR

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("served")
    with serve_process(folder / "index", log_path=folder / "server.log",
                       env={"RAG_API_KEY": "test-key", "RAG_MAX_UPLOAD_MB": "1"}) as (base_url, process):
        yield base_url, process, folder / "server.log"
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status tells how it ended.
    assert process.returncode in (0, -signal.SIGTERM), (folder / "server.log").read_text()


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server[0], timeout=60, headers={"Authorization": "Bearer test-key"}) as client:
        yield client


def test_uploads_then_answers_with_the_real_model(http):
    # a new index is built with the default backend, int8 weights (README, "Speed")
    assert http.get("/readyz").json()["model"] == DEFAULT_MODEL_NAME + INT8_SUFFIX
    ids = {}
    for path in sorted(NEWS_DIR.glob("*.txt")):
        response = http.post("/documents", files={"file": (path.name, path.read_bytes(), "text/plain")})
        assert response.status_code == 201 and response.json()["status"] == "added", response.text
        ids[path.name] = response.json()["doc_id"]
    again = http.post("/documents", files={"file": (AMBASSADOR_FILE.name, AMBASSADOR_FILE.read_bytes())})
    assert again.json()["status"] == "unchanged"

    result = http.post("/ask", json={"question": "Who is the Chinese ambassador to Norway?"}).json()

    assert not result["no_answer"]
    best = result["answers"][0]
    assert "Hou Yue" in best["text"]
    assert best["citation"]["doc_id"] == ids[AMBASSADOR_FILE.name]
    text = http.get(f"/documents/{ids[AMBASSADOR_FILE.name]}").json()["text"]
    assert text == AMBASSADOR_FILE.read_text(encoding="utf-8")
    assert text[best["citation"]["char_start"]:best["citation"]["char_end"]] == best["text"]


def test_an_unrelated_question_gets_no_answer(http):
    result = http.post("/ask", json={"question": "What is the boiling point of liquid nitrogen?"}).json()
    assert result["no_answer"] is True and result["answers"] == []


def test_a_burst_of_bad_input_gets_only_4xx_and_loses_nothing(http, server):
    before = http.get("/documents").json()
    bad = [
        ("POST", "/ask", {"json": {"question": ""}}),
        ("POST", "/ask", {"json": {"question": "   "}}),
        ("POST", "/ask", {"json": {"question": "x" * 2001}}),
        ("POST", "/ask", {"json": {"question": "hi", "k": 0}}),
        ("POST", "/ask", {"json": {"question": "hi", "k": 51}}),
        ("POST", "/ask", {"json": {"question": "hi", "k": "five"}}),
        ("POST", "/ask", {"content": b"{not json", "headers": {"content-type": "application/json"}}),
        ("POST", "/ask", {"json": ["question"]}),
        ("POST", "/documents", {"content": b'{"text": ', "headers": {"content-type": "application/json"}}),
        ("POST", "/documents", {"json": {"title": "no text"}}),
        ("POST", "/documents", {"files": {"file": ("a.exe", b"MZ\x00\x01")}}),
        ("POST", "/documents", {"files": {"file": ("a.txt", "Fjørd".encode("latin-1"))}}),
        ("POST", "/documents", {"files": {"file": ("a.txt", b"")}}),
        ("POST", "/documents", {"files": {"file": ("big.txt", b"w " * 600_000)}}),
        ("POST", "/documents", {"content": b"--x\r\nbroken", "headers": {"content-type": "multipart/form-data; boundary=x"}}),
        ("POST", "/documents", {"json": {"text": "no key"}, "headers": {"Authorization": "Bearer wrong"}}),
        ("DELETE", "/documents/no-such-document", {}),
        ("GET", "/documents/no-such-document", {}),
        ("GET", "/documents", {"params": {"limit": 0}}),
        ("PUT", "/ask", {}),
    ]
    assert len(bad) == 20

    responses = [http.request(method, path, **kwargs) for method, path, kwargs in bad]

    for response in responses:
        assert 400 <= response.status_code < 500, (response.request.url, response.text)
        assert set(response.json()["error"]) == {"code", "message"}
    assert http.get("/healthz").status_code == 200
    assert http.get("/documents").json() == before
    assert "Hou Yue" in http.post("/ask", json={"question": "Who is the Chinese ambassador to Norway?"}).json()[
        "answers"][0]["text"]
    assert "Traceback" not in server[2].read_text()


def test_metrics_are_served(http):
    text = http.get("/metrics").text
    assert "rag_ask_duration_seconds_count" in text and "rag_index_documents 2.0" in text

