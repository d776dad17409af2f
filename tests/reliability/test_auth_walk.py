"""Every write needs the key: a walk over every route the app serves (and every operation its
OpenAPI schema documents) proves none was forgotten; the key never shows in logs or error bodies."""
from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.routing import Route

from api import Settings, create_app
from rag import Pipeline
from rag.hash_embedder import HashEmbedder
from tests.reliability.server import serve

KEY = "walk-key-7f3a9c2e-must-not-leak"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# POST routes anyone who may read may call: questions, and feedback on their answers (stored beside the
# index, never changing what it holds). Anything else that is not GET/HEAD is a write and must need the key.
READS_BY_POST = {"/ask", "/feedback"}
# Open even when reads need the key: probes for load balancers, the widget's files, the schema.
ALWAYS_OPEN = {"/healthz", "/readyz", "/", "/widget.js", "/widget.css", "/favicon.svg", "/openapi.json", "/docs",
               "/docs/oauth2-redirect", "/redoc"}


@pytest.fixture
def pipeline_with_doc(tmp_path: Path) -> Pipeline:
    pipeline = Pipeline.open(tmp_path / "index", embedder=HashEmbedder())
    pipeline.ingest_record({"id": "harbour", "text": "The harbour master logs every ship. Ferries leave at dawn."})
    return pipeline


def _served_operations(app) -> set[tuple[str, str]]:
    """(method, path template) of every route the app answers, documented or not."""
    operations: set[tuple[str, str]] = set()

    def walk(routes, prefix: str) -> None:
        for route in routes:
            if isinstance(route, Route):
                path = re.sub(r"\{(\w+):\w+\}", r"{\1}", prefix + route.path)  # {doc_id:path} as documented
                operations.update((method, path) for method in route.methods or () if method != "HEAD")
            elif hasattr(route, "original_router"):  # FastAPI >= 0.16x keeps included routers as branches
                walk(route.original_router.routes, prefix + getattr(route.include_context, "prefix", ""))
            else:
                raise AssertionError(f"the walk does not know {type(route).__name__}: teach it, or it may miss a route")

    walk(app.routes, "")
    return operations


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "harbour", path)


def _body_for(method: str, path: str) -> dict:
    if path == "/ask":
        return {"json": {"question": "When do ferries leave?"}}
    if path == "/feedback":
        return {"json": {"question": "When do ferries leave?", "verdict": "no_answer"}}
    if method == "POST" and path == "/documents":
        return {"json": {"id": "new", "text": "A new note about tides."}}
    return {}


def test_the_walk_covers_every_documented_operation(pipeline_with_doc, tmp_path):
    app = create_app(Settings(index_dir=tmp_path / "index", api_key=KEY), pipeline=pipeline_with_doc)
    served = _served_operations(app)
    documented = {(method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item}
    assert documented <= served
    assert {("POST", "/documents"), ("DELETE", "/documents/{doc_id}")} <= served  # the walk sees writes


def _unprotected_writes(app) -> list[tuple[str, str, dict, int]]:
    """Every (method, path, headers, status) where a write without the right key was not refused with 401."""
    client = TestClient(app, raise_server_exceptions=False)
    writes = sorted((m, p) for m, p in _served_operations(app) if m in WRITE_METHODS and p not in READS_BY_POST)
    assert writes, "no write routes found: the walk is broken"
    failures = []
    for method, path in writes:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {KEY}x"},
                        {"Authorization": KEY}):
            response = client.request(method, _concrete(path), headers=headers, **_body_for(method, path))
            if response.status_code != 401 or KEY in response.text:
                failures.append((method, path, headers, response.status_code))
    return failures


def test_every_write_route_needs_the_key(pipeline_with_doc, tmp_path):
    app = create_app(Settings(index_dir=tmp_path / "index", api_key=KEY), pipeline=pipeline_with_doc)
    assert _unprotected_writes(app) == []
    assert [d.doc_id for d in pipeline_with_doc.documents()] == ["harbour"]  # nothing got through
    # With the key the same requests do run (so the 401s above came from the key check).
    client = TestClient(app, raise_server_exceptions=False)
    for method, path in sorted(_served_operations(app)):
        if method in WRITE_METHODS and path not in READS_BY_POST:
            response = client.request(method, _concrete(path), headers={"Authorization": f"Bearer {KEY}"},
                                      **_body_for(method, path))
            assert response.status_code < 300, (method, path, response.status_code, response.text)


def test_the_walk_finds_a_write_route_added_without_the_key_check(pipeline_with_doc, tmp_path):
    app = create_app(Settings(index_dir=tmp_path / "index", api_key=KEY), pipeline=pipeline_with_doc)

    @app.delete("/forgotten/{thing}")
    def forgotten(thing: str) -> dict:
        return {"deleted": thing}

    assert {(m, p) for m, p, _, _ in _unprotected_writes(app)} == {("DELETE", "/forgotten/{thing}")}


def test_with_protected_reads_everything_but_probes_and_static_files_needs_the_key(pipeline_with_doc, tmp_path):
    app = create_app(Settings(index_dir=tmp_path / "index", api_key=KEY, api_key_reads=True),
                     pipeline=pipeline_with_doc)
    client = TestClient(app, raise_server_exceptions=False)
    for method, path in sorted(_served_operations(app)):
        response = client.request(method, _concrete(path), **_body_for(method, path))
        if path in ALWAYS_OPEN:
            assert response.status_code == 200, (method, path)
        else:
            assert response.status_code == 401, (method, path, response.status_code)


def test_the_key_never_appears_in_server_logs_or_any_response(tmp_path):
    """A real server at debug level: the key, right or wrong, is never logged or echoed."""
    log_path = tmp_path / "server.log"
    wrong = "Bearer wrong-" + KEY[::-1]
    with serve(tmp_path / "index", log_path=log_path, log_level="debug",
               env={"RAG_API_KEY": KEY, "RAG_API_KEY_READS": "true"}) as (url, _):
        bodies = []
        with httpx.Client(base_url=url, timeout=30) as client:
            for auth in (f"Bearer {KEY}", wrong, KEY, f"Basic {KEY}", ""):
                headers = {"Authorization": auth} if auth else {}
                for method, path, kwargs in [
                    ("POST", "/documents", {"json": {"id": "n", "text": "A note on pike and perch."}}),
                    ("POST", "/documents", {"files": {"file": ("note.txt", b"Pike hunt at dawn.", "text/plain")}}),
                    ("POST", "/documents", {"content": b"{not json", "headers": {"content-type": "application/json"}}),
                    ("POST", "/ask", {"json": {"question": "When do pike hunt?"}}),
                    ("POST", "/ask", {"json": {"question": ""}}),
                    ("GET", "/documents", {}), ("GET", "/documents/n", {}), ("GET", "/documents/missing", {}),
                    ("GET", "/metrics", {}), ("GET", "/nowhere", {}), ("DELETE", "/documents/missing", {}),
                ]:
                    extra = kwargs.pop("headers", {})
                    response = client.request(method, path, headers={**headers, **extra}, **kwargs)
                    assert response.status_code < 500, (method, path, response.text)
                    bodies.append(response.text + str(response.headers))
    log = log_path.read_text(encoding="utf-8", errors="replace")
    assert "POST /documents" in log and "401" in log  # the access log was on: the check can fail
    for secret in (KEY, wrong.removeprefix("Bearer ")):
        assert secret not in log
        assert not any(secret in body for body in bodies)
