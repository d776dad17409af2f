"""``rag [--index DIR] serve [--host 127.0.0.1] [--port 8000]``: the HTTP API and chat widget."""
from __future__ import annotations

import argparse
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
    try:
        settings = Settings(**overrides)  # everything else from RAG_* variables
    except ValidationError as exc:
        problems = "; ".join(f"RAG_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" if e["loc"] else e["msg"]
                             for e in exc.errors())
        print(f"error: bad configuration: {problems}", file=sys.stderr)
        return 2
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level=args.log_level, server_header=False)
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
    p.set_defaults(handler=cmd_serve)
