"""Real HTTP servers on loopback for tests: uvicorn in a thread, or ``rag serve`` in a process."""
from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import uvicorn

from bench import child_env, free_port, rag_serve_command, serving, wait_ready

__all__ = ["free_port", "serve_in_thread", "serve_process", "wait_ready"]  # the launcher itself: bench.serve


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


@contextlib.contextmanager
def serve_process(index_dir: Path | str, *, log_path: Path, env: dict[str, str] | None = None,
                  port: int | None = None, workers: int = 1,
                  extra_args: tuple[str, ...] = ()) -> Iterator[tuple[str, subprocess.Popen]]:
    """``rag --index DIR serve`` in a child process with the real model; yields (base URL, process)."""
    port = port or free_port()
    with serving(rag_serve_command(index_dir, port, workers=workers, log_level="info" if workers > 1 else "warning",
                                   extra_args=extra_args),
                 port=port, log_path=log_path, env=child_env(env), workers=workers, timeout=120) as found:
        yield found
