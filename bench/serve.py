"""Starting a server in a child process and waiting until it answers: the one launcher the
benchmark, the measuring scripts and the tests use.

``serving(command, ...)`` runs any command that serves HTTP on 127.0.0.1:PORT and yields once
``/readyz`` answers 200 (and, with several uvicorn workers, once each has logged its start);
``rag_serve_command`` is the command line of ``rag [--reader DIR] --index DIR serve``.
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import httpx

__all__ = ["free_port", "wait_ready", "serving", "rag_serve_command", "child_env"]

REPO = Path(__file__).resolve().parents[1]
_STARTED = "Application startup complete"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment without ``RAG_*`` settings (the defaults, no API key; a Milvus server's token
    stays), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_") or k == "RAG_MILVUS_TOKEN"}
    env.update(extra or {})
    return env


def wait_ready(base_url: str, *, process: subprocess.Popen | None = None, timeout: float = 180.0,
               workers: int = 1, log_path: Path | None = None) -> dict:
    """Poll ``/readyz`` until it answers 200 (and ``workers`` workers logged their start to
    ``log_path``); returns its body. Raises if the process exits or the time runs out."""
    deadline = time.monotonic() + timeout
    last: object = "no answer"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}"
                               + (f"; see {log_path}" if log_path else ""))
        try:
            response = httpx.get(f"{base_url}/readyz", timeout=2)
            if response.status_code == 200 and (
                    workers == 1 or log_path is None
                    or log_path.read_text(errors="replace").count(_STARTED) >= workers):
                return response.json()
            last = f"{response.status_code} {response.text}"
        except httpx.TransportError as exc:
            last = exc
        time.sleep(0.02)
    raise TimeoutError(f"{base_url} not ready after {timeout:.0f} s: {last}")


def rag_serve_command(index: str | os.PathLike[str], port: int, *, workers: int = 1, log_level: str = "warning",
                      extra_args: Sequence[str] = (), reader_dir: str | os.PathLike[str] | None = None) -> list[str]:
    # absolute: the child runs in the repository, not where a relative path was given
    reader = ["--reader", os.path.abspath(reader_dir)] if reader_dir is not None else []
    return [sys.executable, "-m", "ragcli", *reader, "--index", str(index), "serve", "--host", "127.0.0.1", "--port", str(port),
            "--log-level", log_level, "--workers", str(workers), *extra_args]


@contextlib.contextmanager
def serving(command: Sequence[str], *, port: int, log_path: Path, env: Mapping[str, str] | None = None,
            workers: int = 1, timeout: float = 180.0, append: bool = False) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run ``command`` (serving on ``port``), wait until ready; yields (base URL, process); stops it
    after (SIGTERM, so uvicorn shuts down gracefully; SIGKILL after 20 s)."""
    with open(log_path, "ab" if append else "wb") as log:
        process = subprocess.Popen(list(command), cwd=REPO, env=dict(env) if env is not None else child_env(),
                                   stdout=log, stderr=subprocess.STDOUT)
        base_url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base_url, process=process, timeout=timeout, workers=workers, log_path=log_path)
            yield base_url, process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
