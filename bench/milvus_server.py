"""Milvus's C++ server (knowhere + segcore) on loopback, for the tests, the crash runs and measuring.

The ``milvus-lite==2.5.1`` wheel ships Milvus's server binary; it cannot share a venv with milvus-lite
3.x (the Python re-implementation behind ``milvus-lite:`` locations: same package name), so
``scripts/install.sh`` unpacks only its files, into ``.milvus-server/``. ``MilvusServer(db_file)``
runs it on a free 127.0.0.1 port over that file; any process then reaches it at
``milvus://127.0.0.1:PORT/NAME``. Its local mode builds FLAT, IVF_FLAT and AUTOINDEX indexes only.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from bench.serve import free_port
from domain.logs import quiet_logger

__all__ = ["MILVUS_SERVER_DIR", "MilvusServer"]

REPO = Path(__file__).resolve().parents[1]
MILVUS_SERVER_DIR = REPO / ".milvus-server" / "milvus_lite" / "lib"
_START_TIMEOUT_S = 60


class MilvusServer:
    """Milvus's server binary on ``127.0.0.1:port`` over ``db_file``; ``kill()`` and ``start()`` again
    restart it on the same file and port, as a crashed server comes back."""

    def __init__(self, db_file: Path, *, port: int | None = None, binary_dir: Path = MILVUS_SERVER_DIR) -> None:
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
        from index import milvus_client

        deadline = time.monotonic() + timeout
        error: Exception | None = None
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"the Milvus server exited with {self._process.returncode} while starting; "
                                   f"its log ({self.log_path}):\n{self.log_tail()}")
            try:
                with quiet_logger("pymilvus"):  # it logs each refused connection as an error
                    client = milvus_client(self.uri, timeout=5)
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
