"""/healthz, /readyz, /metrics, the OpenAPI schema, and settings read inside the factory."""
from __future__ import annotations

import re

from fastapi.testclient import TestClient

from api import Settings, create_app
from tests.api.checks import assert_error


def _sample(metrics: str, name: str, **labels: str) -> float | None:
    """The value of one Prometheus sample, or None when absent."""
    for line in metrics.splitlines():
        match = re.fullmatch(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)", line)
        if not match or match[1] != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match[2] or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match[3])
    return None


def test_healthz_and_readyz(client, news_doc):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["documents"] == 1 and ready["chunks"] >= 1
    assert ready["model"] == "hash-embedder" and ready["dimension"] == 64


def test_readyz_is_503_while_nothing_is_loaded(tmp_path):
    app = create_app(Settings(index_dir=tmp_path))
    client = TestClient(app, raise_server_exceptions=False)  # no lifespan: the model never loads
    assert client.get("/healthz").status_code == 200
    assert_error(client.get("/readyz"), 503, "not_ready")
    assert_error(client.post("/ask", json={"question": "hi"}), 503, "not_ready")


def test_metrics_count_requests_asks_no_answers_and_the_index(client, news_doc):
    client.post("/ask", json={"question": "Who is the Chinese ambassador to Norway?"})
    client.post("/ask", json={"question": "zebra quantum lollipop"})
    client.post("/ask", json={"question": ""})
    client.get("/documents/news-1")
    client.get("/documents/unknown")
    client.get("/wp-admin/setup.php")

    response = client.get("/metrics")

    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert _sample(text, "rag_http_requests_total", method="POST", route="/ask", status="200") == 2
    assert _sample(text, "rag_http_requests_total", method="POST", route="/ask", status="422") == 1
    assert _sample(text, "rag_http_requests_total", method="GET", route="/documents/{doc_id:path}",
                   status="404") == 1
    assert _sample(text, "rag_http_requests_total", route="unmatched", status="404") == 1
    assert _sample(text, "rag_http_request_duration_seconds_count", method="POST", route="/ask") == 3
    assert _sample(text, "rag_ask_duration_seconds_count") == 2
    assert _sample(text, "rag_ask_duration_seconds_bucket", le="+Inf") == 2
    assert _sample(text, "rag_ask_questions_total") == 2
    assert _sample(text, "rag_ask_no_answer_total") == 1
    assert _sample(text, "rag_index_documents") == 1
    assert _sample(text, "rag_index_chunks") == client.get("/readyz").json()["chunks"]


def test_index_gauges_follow_writes(client, news_doc):
    client.post("/documents", json={"id": "b", "text": "Another one about eels."})
    assert _sample(client.get("/metrics").text, "rag_index_documents") == 2
    client.delete("/documents/b")
    assert _sample(client.get("/metrics").text, "rag_index_documents") == 1


def test_two_apps_keep_separate_metrics(make_client):
    first, second = make_client(), make_client()
    first.post("/ask", json={"question": "one"})
    assert _sample(second.get("/metrics").text, "rag_ask_questions_total") == 0


def test_openapi_describes_every_endpoint(client):
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    assert set(paths) >= {"/ask", "/documents", "/documents/{doc_id}", "/healthz", "/readyz", "/metrics"}
    assert "/" not in paths and "/widget.js" not in paths
    ask = paths["/ask"]["post"]
    assert ask["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/AskRequest")
    assert ask["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/AskPublic")
    assert ask["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorPublic")
    create = paths["/documents"]["post"]
    assert set(create["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert "201" in create["responses"] and "413" in create["responses"]
    params = {p["name"] for p in paths["/documents"]["get"]["parameters"]}
    assert params == {"offset", "limit"}
    k = schema["components"]["schemas"]["AskRequest"]["properties"]["k"]
    assert (k["minimum"], k["maximum"], k["default"]) == (1, 50, 5)
    assert client.get("/docs").status_code == 200


def test_settings_are_read_when_the_app_is_built_not_at_import(monkeypatch, pipeline):
    monkeypatch.setenv("RAG_API_KEY", "from-the-environment")
    monkeypatch.setenv("RAG_MAX_UPLOAD_MB", "1.5")
    app = create_app(pipeline=pipeline)
    settings = app.state.settings
    assert settings.api_key.get_secret_value() == "from-the-environment"
    assert settings.max_upload_bytes == int(1.5 * 1024 * 1024)
    with TestClient(app) as client:
        assert client.post("/documents", json={"text": "x"}).status_code == 401


def test_settings_defaults(monkeypatch):
    settings = Settings()
    assert settings.api_key is None and settings.api_key_reads is False
    assert settings.cors_origins == [] and settings.max_upload_mb == 20
    assert str(settings.index_dir) == ".rag-index" and settings.model_dir is None
    monkeypatch.setenv("RAG_API_KEY", "  ")
    assert Settings().api_key is None  # an empty key must not become a key everyone knows
