"""RAG_API_KEY guards writes (and reads with RAG_API_KEY_READS); CORS follows RAG_CORS_ORIGINS."""
from __future__ import annotations

import logging

import pytest

import api.callers
from tests.api.checks import assert_error

KEY = "s3cret-key-that-must-not-leak"


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize("headers", [{}, _bearer("wrong"), _bearer(KEY + "x"), {"Authorization": KEY},
                                     {"Authorization": f"Basic {KEY}"}, _bearer("")])
def test_writes_need_the_key(make_client, headers):
    client = make_client(api_key=KEY)

    error = assert_error(client.post("/documents", json={"text": "A note."}, headers=headers), 401, "unauthorized")
    response = client.delete("/documents/anything", headers=headers)

    assert "Bearer" in error["message"]
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert client.get("/documents").json()["count"] == 0


def test_the_right_key_writes_and_reads_stay_open(make_client):
    client = make_client(api_key=KEY)

    created = client.post("/documents", json={"id": "n", "text": "A note on pike."}, headers=_bearer(KEY))

    assert created.status_code == 201
    assert client.get("/documents/n").status_code == 200
    assert client.post("/ask", json={"question": "pike?"}).status_code == 200
    # /metrics counts the documents of every group: with a service key set, only that key reads it.
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=_bearer(KEY)).status_code == 200
    assert client.delete("/documents/n", headers=_bearer(KEY)).status_code == 204


def test_reads_need_the_key_when_configured(make_client):
    client = make_client(api_key=KEY, api_key_reads=True)

    for method, path, body in [("POST", "/ask", {"question": "pike?"}), ("GET", "/documents", None),
                               ("GET", "/documents/n", None), ("GET", "/metrics", None)]:
        assert_error(client.request(method, path, json=body), 401, "unauthorized")
        assert client.request(method, path, json=body, headers=_bearer(KEY)).status_code in {200, 404}
    # Probes and the widget's static files stay open, for load balancers and the page itself.
    for path in ["/healthz", "/readyz", "/", "/widget.js"]:
        assert client.get(path).status_code == 200


def test_without_a_key_writes_are_open(client):
    assert client.post("/documents", json={"text": "Open write."}).status_code == 201


def test_keys_are_compared_in_constant_time(make_client, monkeypatch):
    compared = []
    real = api.callers.hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(api.callers.hmac, "compare_digest", spy)
    client = make_client(api_key=KEY)
    client.post("/documents", json={"text": "x"}, headers=_bearer("guess"))
    assert compared == [(b"guess", KEY.encode())]


def test_the_key_is_never_logged_or_shown(make_client, caplog):
    caplog.set_level(logging.DEBUG)
    client = make_client(api_key=KEY)
    client.post("/documents", json={"id": "n", "text": "A note on pike."}, headers=_bearer(KEY))
    client.post("/documents", json={"text": "x"}, headers=_bearer(KEY + "-wrong"))
    client.post("/ask", json={"question": "pike?"}, headers=_bearer(KEY))

    assert KEY not in caplog.text
    settings = client.app.state.settings
    assert KEY not in repr(settings) and KEY not in str(settings.model_dump())
    assert KEY not in client.get("/openapi.json").text


def test_reads_only_protection_without_a_key_is_a_configuration_error():
    from pydantic import ValidationError

    from api import Settings

    with pytest.raises(ValidationError, match="RAG_API_KEY"):
        Settings(api_key_reads=True)


# ---- CORS ----

SITE = "http://127.0.0.1:9999"


def test_listed_origins_may_call_the_api(make_client):
    client = make_client(cors_origins=[SITE])

    preflight = client.options("/ask", headers={"Origin": SITE, "Access-Control-Request-Method": "POST",
                                                "Access-Control-Request-Headers": "content-type"})
    answer = client.post("/ask", json={"question": "pike?"}, headers={"Origin": SITE})
    failure = client.post("/ask", json={"question": ""}, headers={"Origin": SITE})

    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == SITE
    assert answer.headers["access-control-allow-origin"] == SITE
    # Errors carry the header too, so the widget can show their message.
    assert failure.status_code == 422 and failure.headers["access-control-allow-origin"] == SITE


def test_other_origins_get_no_cors_headers(make_client):
    client = make_client(cors_origins=[SITE])
    preflight = client.options("/ask", headers={"Origin": "http://evil.example",
                                                "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    answer = client.post("/ask", json={"question": "pike?"}, headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in answer.headers


def test_by_default_no_origin_is_allowed(client):
    answer = client.post("/ask", json={"question": "pike?"}, headers={"Origin": SITE})
    assert "access-control-allow-origin" not in answer.headers


def test_cors_origins_come_from_the_environment(monkeypatch):
    from api import Settings

    monkeypatch.setenv("RAG_CORS_ORIGINS", "https://a.example, https://b.example/")
    assert Settings().cors_origins == ["https://a.example", "https://b.example"]
    monkeypatch.setenv("RAG_CORS_ORIGINS", '["https://c.example"]')
    assert Settings().cors_origins == ["https://c.example"]
    monkeypatch.setenv("RAG_CORS_ORIGINS", "*")
    assert Settings().cors_origins == ["*"]
