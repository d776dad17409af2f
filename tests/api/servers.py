"""Real HTTP servers on loopback for tests: uvicorn in a thread, or ``rag serve`` in a process."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import uvicorn

__all__ = ["free_port", "serve_in_thread", "serve_process", "wait_ready"]

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve_in_thread(app, *, port: int | None = None) -> Iterator[str]:
    """Run ``app`` with uvicorn on 127.0.0.1 in a background thread; yields the base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port or free_port(), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def wait_ready(base_url: str, *, timeout: float = 120.0, process: subprocess.Popen | None = None) -> dict:
    """Poll ``/readyz`` until it answers 200; returns its body."""
    deadline = time.monotonic() + timeout
    last: Exception | str = "no answer"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            response = httpx.get(f"{base_url}/readyz", timeout=2)
            if response.status_code == 200:
                return response.json()
            last = f"{response.status_code} {response.text}"
        except httpx.TransportError as exc:
            last = exc
        time.sleep(0.2)
    raise TimeoutError(f"{base_url} not ready after {timeout} s: {last}")


@contextlib.contextmanager
def serve_process(index_dir: Path, *, log_path: Path, env: dict[str, str] | None = None,
                  port: int | None = None, extra_args: tuple[str, ...] = ()) -> Iterator[tuple[str, subprocess.Popen]]:
    """``rag --index DIR serve`` in a child process with the real model; yields (base URL, process)."""
    port = port or free_port()
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    child_env.update(env or {})
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "ragcli", "--index", str(index_dir), "serve", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning", *extra_args],
            cwd=REPO, env=child_env, stdout=log, stderr=subprocess.STDOUT)
        base_url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base_url, process=process)
            yield base_url, process
        finally:
            if process.poll() is None:
                process.terminate()  # uvicorn shuts down gracefully on SIGTERM
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
