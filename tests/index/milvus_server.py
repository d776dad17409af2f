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
import signal
import subprocess
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.serve import free_port

__all__ = ["SERVER_DIR", "MilvusServer", "milvus_uri", "server_location"]

REPO = Path(__file__).resolve().parents[2]
SERVER_DIR = REPO / ".milvus-server" / "milvus_lite" / "lib"
_START_TIMEOUT_S = 60


class MilvusServer:
    """Milvus's server binary on ``127.0.0.1:port`` over ``db_file``; ``kill()`` and ``start()`` again
    restart it on the same file and port, as a crashed server comes back."""

    def __init__(self, db_file: Path, *, port: int | None = None, binary_dir: Path = SERVER_DIR) -> None:
        self.db_file = db_file
        self.port = port or free_port()
        self.log_path = db_file.with_suffix(".log")
        self._binary_dir = binary_dir
        self._process: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self, *, timeout: float = _START_TIMEOUT_S) -> None:
        binary = self._binary_dir / "milvus"
        if not binary.is_file():
            raise RuntimeError(f"no Milvus server binary at {binary}: run `bash scripts/install.sh`, which unpacks "
                               "milvus-lite==2.5.1 into .milvus-server/")
        env = {**os.environ, "LD_LIBRARY_PATH": f"{self._binary_dir}:{os.environ.get('LD_LIBRARY_PATH', '')}"}
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen([str(binary), str(self.db_file), f"127.0.0.1:{self.port}", "ERROR"],
                                             cwd=self.db_file.parent, env=env, stdout=log, stderr=subprocess.STDOUT)
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        from pymilvus import MilvusClient

        deadline = time.monotonic() + timeout
        error: Exception | None = None
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"the Milvus server exited with {self._process.returncode} while starting; "
                                   f"its log ({self.log_path}):\n{self.log_tail()}")
            try:
                client = MilvusClient(uri=self.uri, timeout=5)
                client.list_collections()
                client.close()
                return
            except Exception as exc:  # noqa: BLE001 - not answering yet, whatever the client says
                error = exc
                time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"the Milvus server did not answer on {self.uri} within {timeout:.0f} s ({error}); "
                           f"its log:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL, as a crash would: nothing is flushed."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=30)
        self._process = None

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._process = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


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
    from pymilvus import MilvusClient

    uri = uri or milvus_uri()
    parsed = urllib.parse.urlparse(uri)
    name = f"t{uuid.uuid4().hex[:12]}"
    try:
        yield f"milvus://{parsed.hostname}:{parsed.port or 19530}/{name}"
    finally:
        client = MilvusClient(uri=uri, token=os.environ.get("RAG_MILVUS_TOKEN", ""))
        for collection in client.list_collections():
            if collection.startswith(f"{name}_"):
                client.drop_collection(collection)
        client.close()
