"""A real Milvus server for the tests: Milvus's C++ engine (knowhere + segcore) as shipped in the
``milvus-lite==2.5.1`` wheel, which ``scripts/install.sh`` unpacks into ``.milvus-server/`` (that
version cannot share a venv with milvus-lite 3.x, the Python re-implementation the ``milvus-lite:``
engine uses, so only its files are kept, outside any venv).

The first test that needs a server starts one (``milvus_uri()``) on a free 127.0.0.1 port, over a
file in a temporary folder with its log beside it, and it is stopped when the test process exits.
``RAG_TEST_MILVUS_URI=http://HOST:PORT`` (with ``RAG_MILVUS_TOKEN`` if it wants one) uses a server of
your own instead. A server that cannot start fails the tests that need it, loudly, with its log:
the server tests are never skipped in silence.
"""
from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import MilvusServer

__all__ = ["MilvusServer", "milvus_uri", "server_location"]


_shared: MilvusServer | None = None


def milvus_uri() -> str:
    """The test server's URI: ``RAG_TEST_MILVUS_URI``, else the shared server, started on first use."""
    global _shared
    given = os.environ.get("RAG_TEST_MILVUS_URI", "")
    if given:
        return given
    if _shared is None:
        folder = Path(tempfile.mkdtemp(prefix="rag-milvus-server-"))
        server = MilvusServer(folder / "server.db")
        try:
            server.start()
        except RuntimeError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            pytest.fail(f"the Milvus server tests cannot run: {exc}", pytrace=False)
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        atexit.register(server.stop)
        _shared = server
    return _shared.uri


@contextlib.contextmanager
def server_location(uri: str | None = None) -> Iterator[str]:
    """A fresh index name on the test server as a ``milvus://`` location; its collections dropped after."""
    from index import milvus_client

    uri = uri or milvus_uri()
    parsed = urllib.parse.urlparse(uri)
    name = f"t{uuid.uuid4().hex[:12]}"
    try:
        yield f"milvus://{parsed.hostname}:{parsed.port or 19530}/{name}"
    finally:
        client = milvus_client(uri)
        for collection in client.list_collections():
            if collection.startswith(f"{name}_"):
                client.drop_collection(collection)
        client.close()
