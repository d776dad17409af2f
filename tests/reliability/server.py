"""A real ``uvicorn`` server in a child process on 127.0.0.1, for the auth, concurrency and load tests.

``python -m tests.reliability.server INDEX PORT [--real]`` serves ``create_app(Settings())`` (so
``RAG_*`` variables apply, as with ``rag serve``) over INDEX, with the fast fake embedder unless
``--real`` (then it is exactly ``rag serve``'s pipeline, the bundled model). Its memory is read from
``/proc/PID/status``.
"""
from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from bench import child_env, free_port, serving

__all__ = ["serve", "main"]

@contextlib.contextmanager
def serve(index_dir: Path, *, log_path: Path, real_model: bool = False, env: dict[str, str] | None = None,
          log_level: str = "info") -> Iterator[tuple[str, subprocess.Popen]]:
    """Start the server, wait until ``/readyz`` answers; yields (base URL, process). Stops it after."""
    port = free_port()
    command = [sys.executable, "-m", "tests.reliability.server", str(index_dir), str(port), log_level]
    if real_model:
        command.append("--real")
    with serving(command, port=port, log_path=log_path, env=child_env(env), append=True) as found:
        yield found


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
