"""A Milvus server for tests, when one is given: ``RAG_TEST_MILVUS_URI=http://HOST:19530`` (and
``RAG_MILVUS_TOKEN`` if it wants one). These machines cannot run one (no container runtime), so the
tests that need it are skipped here; the same tests run wherever the variable is set."""
from __future__ import annotations

import contextlib
import os
import urllib.parse
import uuid
from collections.abc import Iterator

import pytest

__all__ = ["SERVER_URI", "needs_server", "server_location"]

SERVER_URI = os.environ.get("RAG_TEST_MILVUS_URI", "")
needs_server = pytest.mark.skipif(not SERVER_URI, reason="no Milvus server (set RAG_TEST_MILVUS_URI=http://HOST:19530)")


@contextlib.contextmanager
def server_location() -> Iterator[str]:
    """A fresh index name on the test server as a ``milvus://`` location; its collections dropped after."""
    from pymilvus import MilvusClient

    parsed = urllib.parse.urlparse(SERVER_URI)
    name = f"t{uuid.uuid4().hex[:12]}"
    try:
        yield f"milvus://{parsed.hostname}:{parsed.port or 19530}/{name}"
    finally:
        client = MilvusClient(uri=SERVER_URI, token=os.environ.get("RAG_MILVUS_TOKEN", ""))
        for collection in client.list_collections():
            if collection.startswith(f"{name}_"):
                client.drop_collection(collection)
        client.close()
