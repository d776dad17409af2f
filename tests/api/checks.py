"""Shared test data and assertions for the API tests."""
from __future__ import annotations

__all__ = ["NEWS_TEXT", "assert_error"]

NEWS_TEXT = (
    "Hou Yue, the Chinese ambassador to Norway, praised the import expo in Shanghai. "
    "The fair opens in November and lasts six days.\n\n"
    "Norwegian salmon exporters plan to attend again this year."
)


def assert_error(response, status: int, code: str) -> dict:
    """The response is ``status`` with the error envelope and ``code``; returns the error object."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body["error"]
