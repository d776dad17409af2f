"""A real ``uvicorn`` server in a child process on 127.0.0.1, for the auth, concurrency and load tests.

``python -m tests.reliability.server INDEX PORT [--real]`` serves ``create_app(Settings())`` (so
``RAG_*`` variables apply, as with ``rag serve``) over INDEX, with the fast fake embedder unless
``--real`` (then it is exactly ``rag serve``'s pipeline, the bundled model). Its memory is read from
``/proc/PID/status``.
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["serve", "rss_mb", "main"]

REPO = Path(__file__).resolve().parents[2]


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident memory of a process in MB (``VmHWM``: its peak)."""
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":")) / 1024


@contextlib.contextmanager
def serve(index_dir: Path, *, log_path: Path, real_model: bool = False, env: dict[str, str] | None = None,
          log_level: str = "info") -> Iterator[tuple[str, subprocess.Popen]]:
    """Start the server, wait until ``/readyz`` answers; yields (base URL, process). Stops it after."""
    port = _free_port()
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    child_env.update(env or {})
    command = [sys.executable, "-m", "tests.reliability.server", str(index_dir), str(port), log_level]
    if real_model:
        command.append("--real")
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, cwd=REPO, env=child_env, stdout=log, stderr=subprocess.STDOUT)
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base_url, process, timeout=180)
            yield base_url, process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(base_url: str, process: subprocess.Popen, *, timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{base_url} not ready after {timeout} s")


def main(argv: list[str]) -> None:
    import uvicorn

    from api import Settings, create_app
    from rag import Pipeline

    index_dir, port, log_level = argv[0], int(argv[1]), argv[2]
    settings = Settings(index_dir=Path(index_dir))
    if "--real" in argv:
        pipeline = None  # opened by the app's lifespan with the bundled model, as `rag serve` does
    else:
        from rag.hash_embedder import HashEmbedder

        pipeline = Pipeline.open(index_dir, embedder=HashEmbedder())
    uvicorn.run(create_app(settings, pipeline=pipeline), host="127.0.0.1", port=port, log_level=log_level,
                server_header=False)


if __name__ == "__main__":
    main(sys.argv[1:])
