"""The HTTP API and chat widget: ``create_app(settings)`` builds the FastAPI application; and the Model
Context Protocol server for AI assistants: ``create_mcp_server(pipeline)`` (``rag mcp``).

>>> from api import Settings, create_app
>>> app = create_app(Settings(index_dir=".rag-index"))   # uvicorn.run(app)
"""
from __future__ import annotations

from typing import Any

from api.app import create_app
from api.settings import Settings

__all__ = ["create_app", "Settings", "create_mcp_server"]


def __getattr__(name: str) -> Any:
    # The MCP SDK, which the HTTP service never needs: imported on first use.
    if name == "create_mcp_server":
        from api.mcp_server import create_mcp_server

        return create_mcp_server
    raise AttributeError(f"module 'api' has no attribute {name!r}")
