"""``rag [--index DIR] serve [--host 127.0.0.1] [--port 8000] [--workers N]``: the HTTP API and chat widget."""
from __future__ import annotations

import argparse
import os
import sys

__all__ = ["register"]


def cmd_serve(args: argparse.Namespace) -> int:
    # Imported here so that the other commands never pay for (or need) FastAPI and uvicorn.
    import uvicorn

    from api import Settings, create_app

    from pydantic import ValidationError

    overrides = {"index_dir": args.index}
    if args.model:
        overrides["model_dir"] = args.model
    if args.backend:
        overrides["embed_backend"] = args.backend
    if args.reader:
        overrides["reader_dir"] = args.reader
    try:
        settings = Settings(**overrides)  # everything else from RAG_* variables
    except ValidationError as exc:
        problems = "; ".join(f"RAG_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" if e["loc"] else e["msg"]
                             for e in exc.errors())
        print(f"error: bad configuration: {problems}", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.workers > 1 and str(settings.index_dir).startswith("milvus-lite:"):
        print("error: milvus-lite lets one process at a time open its file; for more than one worker, run a "
              "Milvus server and use --index milvus://HOST:PORT/NAME", file=sys.stderr)
        return 2
    options = {"host": args.host, "port": args.port, "log_level": args.log_level, "server_header": False}
    if args.workers == 1:
        uvicorn.run(create_app(settings), **options)
        return 0
    # Each worker process imports the app factory and reads its settings from RAG_* variables.
    os.environ["RAG_INDEX_DIR"] = str(settings.index_dir)
    if settings.model_dir is not None:
        os.environ["RAG_MODEL_DIR"] = str(settings.model_dir)
    if settings.embed_backend is not None:
        os.environ["RAG_EMBED_BACKEND"] = settings.embed_backend
    if settings.reader_dir is not None:
        os.environ["RAG_READER_DIR"] = str(settings.reader_dir)
    uvicorn.run("api.app:create_app", factory=True, workers=args.workers, **options)
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "serve", help="serve the HTTP API and the chat widget",
        description="Serve the HTTP API (docs at /docs) and the chat widget (at /, embeddable via /widget.js). "
                    "Configured by RAG_API_KEY, RAG_API_KEY_READS, RAG_CORS_ORIGINS and RAG_MAX_UPLOAD_MB.")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000; 0 picks a free one)")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"],
                   help="uvicorn's log level (default: info)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="server processes sharing the port (default: 1). Each holds its own copy of the model "
                        "and index (about 0.5 GB for 10k chunks); questions run in parallel across them, "
                        "while writes from any of them stay serialized by the index's lock")
    p.set_defaults(handler=cmd_serve)
