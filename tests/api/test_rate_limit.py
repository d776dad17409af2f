"""Rate limits (``RAG_RATE_LIMIT``): the request past the budget gets a 429 with ``Retry-After`` and
the JSON error; other clients, the key's holder and the health checks are unaffected; ``/metrics``
counts the refusals; ``X-Forwarded-For`` counts only from a trusted proxy."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api import Settings, create_app
from api.rate_limit import RateLimit, TokenBuckets, parse_rate_limit
from tests.api.checks import assert_error

KEY = "rate-limit-test-key-0123456789"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("text", "limit"), [("60/minute", RateLimit(60, 60.0)), (" 5 / second ", RateLimit(5, 1.0)),
                                             ("1000/hour", RateLimit(1000, 3600.0)), ("1/day", RateLimit(1, 86400.0))])
def test_limits_are_read_as_n_per_period(text, limit):
    assert parse_rate_limit(text) == limit


@pytest.mark.parametrize("text", ["60", "60/min", "0/minute", "-1/second", "ten/minute", "60/minute/2"])
def test_a_malformed_limit_is_refused_at_start_with_the_format(text):
    with pytest.raises(ValidationError, match="N/second, N/minute, N/hour or N/day"):
        Settings(rate_limit=text)


def test_settings_read_the_limit_and_the_proxies_from_the_environment(monkeypatch):
    monkeypatch.setenv("RAG_RATE_LIMIT", "30/minute")
    monkeypatch.setenv("RAG_TRUSTED_PROXIES", "10.0.0.1, 192.168.0.0/16")
    settings = Settings()
    assert settings.rate_limit == RateLimit(30, 60.0)
    assert settings.trusted_proxies == ["10.0.0.1", "192.168.0.0/16"]
    with pytest.raises(ValidationError, match="not an IP address or network"):
        Settings(trusted_proxies="proxy.internal")
    assert Settings(rate_limit="").rate_limit is None


def test_a_bucket_allows_its_size_at_once_then_refills_at_its_rate():
    clock = FakeClock()
    buckets = TokenBuckets(RateLimit(3, 60.0), clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(20.0)  # one token every 20 s
    assert buckets.take("b") == 0.0  # another name has its own bucket
    clock.now += 20.0
    assert buckets.take("a") == 0.0 and buckets.take("a") > 0
    clock.now += 3600.0
    assert [buckets.take("a") for _ in range(4)].count(0.0) == 3  # refills to its size, never beyond


def test_the_bucket_count_is_bounded():
    buckets = TokenBuckets(RateLimit(1, 60.0), clock=FakeClock(), max_buckets=10)
    for i in range(1000):
        buckets.take(f"address:{i}")
    assert len(buckets._buckets) == 10


@pytest.fixture
def limited_app(make_app):
    return make_app(rate_limit="3/minute", api_key=KEY, trusted_proxies="10.0.0.1")


def _client(app, address: str = "203.0.113.7") -> TestClient:
    return TestClient(app, raise_server_exceptions=False, client=(address, 40000))


def test_the_request_past_the_budget_gets_429_with_retry_after_and_others_are_unaffected(limited_app):
    with _client(limited_app) as one, _client(limited_app, "198.51.100.2") as other:
        statuses = [one.post("/ask", json={"question": "When does the fair open?"}).status_code for _ in range(3)]
        refused = one.get("/documents")
        assert statuses == [200, 200, 200]
        error = assert_error(refused, 429, "too_many_requests")
        assert "3/minute" in error["message"] and "client address" in error["message"]
        assert 1 <= int(refused.headers["retry-after"]) <= 20
        assert other.get("/documents").status_code == 200  # another address: its own budget
        assert one.get("/healthz").status_code == 200 and one.get("/readyz").status_code == 200  # exempt
        keyed = [one.get("/documents", headers={"Authorization": f"Bearer {KEY}"}).status_code for _ in range(3)]
        assert keyed == [200, 200, 200]  # the key's holder spends from the key's bucket, not the address's
        assert one.get("/documents", headers={"Authorization": "Bearer wrong"}).status_code == 429
        metrics = limited_app.state.metrics.render().decode()  # the key's bucket is spent: read them directly
    assert 'rag_http_rate_limited_total{by="address"} 2.0' in metrics
    assert 'status="429"} 2.0' in metrics


def test_forwarded_for_names_the_client_only_behind_a_trusted_proxy(limited_app):
    with _client(limited_app, "10.0.0.1") as proxy:  # a trusted proxy, two clients behind it
        for _ in range(3):
            assert proxy.get("/documents", headers={"X-Forwarded-For": "198.51.100.9"}).status_code == 200
        assert proxy.get("/documents", headers={"X-Forwarded-For": "198.51.100.9"}).status_code == 429
        assert proxy.get("/documents", headers={"X-Forwarded-For": "198.51.100.10"}).status_code == 200
        # A client cannot pick its own bucket by sending the header through the proxy: the proxy appends.
        spoofed = proxy.get("/documents", headers={"X-Forwarded-For": "1.2.3.4, 198.51.100.9"})
        assert spoofed.status_code == 429
    with _client(limited_app, "203.0.113.50") as direct:  # not a proxy: its header is ignored
        for i in range(3):
            assert direct.get("/documents", headers={"X-Forwarded-For": f"192.0.2.{i}"}).status_code == 200
        assert direct.get("/documents", headers={"X-Forwarded-For": "192.0.2.99"}).status_code == 429


def test_a_429_carries_the_cors_headers_so_the_widget_can_read_it(make_app):
    app = make_app(rate_limit="1/minute", cors_origins="https://shop.example")
    with _client(app) as client:
        origin = {"Origin": "https://shop.example"}
        assert client.get("/documents", headers=origin).status_code == 200
        preflight = client.options("/ask", headers={**origin, "Access-Control-Request-Method": "POST"})
        assert preflight.status_code == 200  # preflights spend nothing
        refused = client.post("/ask", json={"question": "Any news?"}, headers=origin)
    assert refused.status_code == 429
    assert refused.headers["access-control-allow-origin"] == "https://shop.example"


def test_no_limit_by_default(client):
    assert all(client.get("/documents").status_code == 200 for _ in range(50))


def test_a_write_key_has_its_own_bucket_and_a_read_key_spends_its_address(limited_app, pipeline):
    _, writer = pipeline.add_key("uploader", ("hr",), write=True)
    _, reader = pipeline.add_key("widget", ("hr",))
    with _client(limited_app) as one, _client(limited_app, "198.51.100.3") as other:
        as_reader = {"Authorization": f"Bearer {reader}"}
        assert [one.get("/documents", headers=as_reader).status_code for _ in range(3)] == [200, 200, 200]
        assert one.get("/documents", headers=as_reader).status_code == 429  # the address's budget, spent
        assert one.get("/documents").status_code == 429  # the same bucket as requests without a key
        assert other.get("/documents", headers=as_reader).status_code == 200  # the page's other visitors
        as_writer = {"Authorization": f"Bearer {writer}"}
        assert [one.get("/documents", headers=as_writer).status_code for _ in range(3)] == [200, 200, 200]
        assert one.get("/documents", headers=as_writer).status_code == 429  # its own budget, now spent too
