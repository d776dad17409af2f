"""The same hostile files through ``POST /documents`` (multipart): a 201, or a 4xx whose message is
the reason; nothing else in the index changes; a 50 MB upload is refused without the server's
memory growing; upload names with paths stay plain names."""
from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api import Settings, create_app
from rag import Pipeline
from rag.hash_embedder import HashEmbedder
from tests.reliability.hostile import BIG_FILE_MB, HOSTILE_FILES, TRAVERSAL_NAMES, Hostile, fingerprint, write_big_text
from tests.reliability.report import record
from bench.stats import peak_rss_mb
from tests.reliability.server import serve

# What each refusal looks like over HTTP.
_STATUS = {"unsupported file type": 415}


@pytest.fixture
def populated(tmp_path: Path) -> Pipeline:
    pipeline = Pipeline.open(tmp_path / "index", embedder=HashEmbedder())
    pipeline.ingest_record({"id": "harbour", "text": "The harbour master logs every ship. Ferries leave at dawn."})
    return pipeline


@pytest.fixture
def client(populated: Pipeline, tmp_path: Path) -> TestClient:
    with TestClient(create_app(Settings(index_dir=tmp_path / "index"), pipeline=populated),
                    raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("hostile", HOSTILE_FILES, ids=lambda h: h.name)
def test_hostile_upload(client: TestClient, populated: Pipeline, hostile: Hostile):
    before = fingerprint(populated)
    response = client.post("/documents", files={"file": (hostile.name, hostile.make(), "application/octet-stream")})
    assert response.status_code < 500, response.text
    if hostile.refused:
        assert response.status_code == _STATUS.get(hostile.refused, 422), response.text
        assert hostile.refused in response.json()["error"]["message"]
        assert fingerprint(populated) == before
    else:
        assert response.status_code == 201, response.text
        doc_id = response.json()["doc_id"]
        shown = client.get(f"/documents/{doc_id}").json()
        assert hostile.contains in shown["text"]
        assert [row for row in fingerprint(populated) if row[0] != doc_id] == before
    assert populated.check().ok


@pytest.mark.parametrize("name", TRAVERSAL_NAMES)
def test_upload_filenames_with_paths(client: TestClient, tmp_path: Path, name: str):
    response = client.post("/documents", files={"file": (name, b"A short note about tides.", "text/plain")})
    assert response.status_code == 201, response.text
    doc = client.get(f"/documents/{response.json()['doc_id']}").json()
    plain = doc["source"].removeprefix("upload:")
    assert doc["source"].startswith("upload:") and "/" not in plain and "\\" not in plain
    assert not Path("/tmp/escaped.txt").exists() and not (tmp_path.parent / "escaped.txt").exists()


def test_deeply_nested_json_record_is_a_400_not_a_500(client: TestClient):
    response = client.post("/documents", content=b"[" * 100_000 + b"]" * 100_000,
                           headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "malformed_json"


def test_offsets_past_sqlite_integers_list_nothing_instead_of_failing(client: TestClient):
    for offset in (2**63 - 1, 2**63, 10**30):
        response = client.get("/documents", params={"offset": offset})
        assert response.status_code == 200 and response.json()["data"] == [], response.text


def test_a_50_mb_upload_is_refused_and_the_server_memory_does_not_move(tmp_path: Path):
    big = write_big_text(tmp_path / "big.txt")
    with serve(tmp_path / "index", log_path=tmp_path / "server.log", log_level="warning") as (url, process):
        with httpx.Client(base_url=url, timeout=60) as client:
            client.post("/documents", files={"file": ("warm.txt", b"Warm up the upload path once.", "text/plain")})
            before = peak_rss_mb(process.pid)
            with open(big, "rb") as f:  # streamed from disk, with its Content-Length
                declared = client.post("/documents", files={"file": ("big.txt", f, "text/plain")})

            def chunks():  # and chunked, without one: cut off as it streams in
                yield (b'--x\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
                       b"Content-Type: text/plain\r\n\r\n")
                with open(big, "rb") as f:
                    while block := f.read(1024 * 1024):
                        yield block
                yield b"\r\n--x--\r\n"

            try:
                streamed = client.post("/documents", content=chunks(),
                                       headers={"content-type": "multipart/form-data; boundary=x"})
                streamed_status = streamed.status_code
            except httpx.HTTPError:  # the server may close the connection once it has refused
                streamed_status = 413
            after = peak_rss_mb(process.pid)
            documents = client.get("/documents").json()["count"]
    assert declared.status_code == 413, declared.text
    assert "larger than the limit of 20" in declared.json()["error"]["message"]
    assert streamed_status == 413
    assert documents == 1
    record("upload_50mb", {"server_peak_rss_mb_before": round(before, 1), "after": round(after, 1)})
    assert after - before < BIG_FILE_MB / 2, (before, after)  # never held whole in memory
