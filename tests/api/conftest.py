"""API fixtures: an app on a temporary index with the fake embedder, and a TestClient for it."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api import Settings, create_app
from rag import Pipeline
from tests.api.checks import NEWS_TEXT


@pytest.fixture(autouse=True)
def _no_rag_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The developer's own RAG_API_KEY or RAG_CORS_ORIGINS must not change what these tests see.
    for name in list(os.environ):
        if name.startswith("RAG_"):
            monkeypatch.delenv(name)


@pytest.fixture
def make_app(tmp_path: Path, pipeline: Pipeline) -> Callable[..., FastAPI]:
    """``make_app(api_key=..., cors_origins=...)``: an app over the test pipeline."""

    def make(**settings: object) -> FastAPI:
        return create_app(Settings(index_dir=tmp_path / "index", **settings), pipeline=pipeline)

    return make


@pytest.fixture
def make_client(make_app: Callable[..., FastAPI]) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(**settings: object) -> TestClient:
        client = TestClient(make_app(**settings), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.fixture
def news_doc(client: TestClient) -> dict:
    """One short news record posted through the API; the response body."""
    response = client.post("/documents", json={"id": "news-1", "title": "Expo news", "text": NEWS_TEXT,
                                               "metadata": {"lang": "en"}})
    assert response.status_code == 201, response.text
    return response.json()

