"""Against a real uvicorn on loopback: reads go on during an ingest, streamed bodies are capped.

The fake embedder keeps these fast; ``test_real_server.py`` runs ``rag serve`` with the real model.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from api import Settings, create_app
from rag import Pipeline
from rag.hash_embedder import HashEmbedder
from tests.api.checks import NEWS_TEXT, assert_error
from tests.api.servers import serve_in_thread


class GatedEmbedder(HashEmbedder):
    """Holds any text mentioning ``pike`` until ``gate`` is set, so a test can stop an ingest half-way."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.waiting = threading.Event()

    def encode_documents(self, texts, *, progress=False):
        if any("pike" in text for text in texts):
            self.waiting.set()
            assert self.gate.wait(timeout=30), "the test never released the ingest"
        return super().encode_documents(texts, progress=progress)


@pytest.fixture
def gated(tmp_path):
    embedder = GatedEmbedder()
    pipeline = Pipeline.open(tmp_path / "index", embedder=embedder)
    pipeline.ingest_record({"id": "news-1", "title": "Expo news", "text": NEWS_TEXT})
    app = create_app(Settings(index_dir=tmp_path / "index", max_upload_mb=0.05), pipeline=pipeline)
    with serve_in_thread(app) as base_url:
        yield embedder, base_url


def test_questions_are_answered_while_an_upload_is_ingested(gated):
    embedder, base_url = gated
    upload = {"file": ("pike.txt", b"The pike is a predatory fish of lakes and rivers.", "text/plain")}
    with httpx.Client(base_url=base_url, timeout=30) as client, ThreadPoolExecutor(1) as pool:
        pending = pool.submit(client.post, "/documents", files=upload)
        assert embedder.waiting.wait(timeout=10)

        # The ingest is stuck inside the index writer; reads still answer, from the previous state.
        for _ in range(5):
            answer = client.post("/ask", json={"question": "Who is the Chinese ambassador to Norway?"}, timeout=5)
            assert answer.status_code == 200 and "Hou Yue" in answer.json()["answers"][0]["text"]
        assert client.get("/documents", timeout=5).json()["count"] == 1
        assert client.get("/healthz", timeout=5).status_code == 200
        assert not pending.done()

        embedder.gate.set()
        created = pending.result(timeout=30)

        assert created.status_code == 201 and created.json()["status"] == "added"
        assert client.get("/documents").json()["count"] == 2
        fish = client.post("/ask", json={"question": "What is a pike?"}).json()
        assert fish["answers"][0]["citation"]["doc_id"] == created.json()["doc_id"]


def test_a_burst_of_uploads_cannot_starve_questions(gated):
    embedder, base_url = gated
    uploads = 45  # more than the 40 threads of the shared worker pool
    limits = httpx.Limits(max_connections=uploads + 10)
    with httpx.Client(base_url=base_url, timeout=60, limits=limits) as client, ThreadPoolExecutor(uploads) as pool:
        pending = [pool.submit(client.post, "/documents", json={"id": f"p{n}", "text": f"A pike report, number {n}."})
                   for n in range(uploads)]
        assert embedder.waiting.wait(timeout=10)

        for _ in range(3):
            answer = client.post("/ask", json={"question": "Who is the Chinese ambassador to Norway?"}, timeout=5)
            assert answer.status_code == 200

        embedder.gate.set()
        assert [f.result(timeout=60).status_code for f in pending] == [201] * uploads
        assert client.get("/documents").json()["count"] == 1 + uploads


def test_concurrent_uploads_are_serialized_and_all_land(gated):
    embedder, base_url = gated
    embedder.gate.set()
    with httpx.Client(base_url=base_url, timeout=30) as client, ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda n: client.post("/documents", json={"id": f"c{n}", "text": f"Carp note {n}."}),
                                range(8)))
        assert [r.status_code for r in results] == [201] * 8
        assert client.get("/documents").json()["count"] == 9


def test_a_streamed_body_without_length_is_cut_off_at_the_limit(gated):
    _, base_url = gated
    sent = []

    def chunks():
        for _ in range(200):  # 200 x 8 KiB = 1.6 MB against a 0.05 MB limit
            sent.append(1)
            yield b"x" * 8192

    with httpx.Client(base_url=base_url, timeout=30) as client:
        response = client.post("/documents", content=chunks(), headers={"content-type": "application/json"})
        assert "content-length" not in response.request.headers
        assert_error(response, 413, "payload_too_large")
        assert client.get("/documents").json()["count"] == 1


def test_a_declared_length_over_the_limit_is_refused_before_reading(gated):
    _, base_url = gated
    with httpx.Client(base_url=base_url, timeout=30) as client:
        response = client.post("/documents", files={"file": ("big.txt", b"word " * 30000, "text/plain")})
        assert_error(response, 413, "payload_too_large")
        assert client.get("/documents").json()["count"] == 1
