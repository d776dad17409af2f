"""``rag mcp``: the Model Context Protocol over stdio, for AI assistants (tools ask, search, get_document)."""
from __future__ import annotations

import argparse
import os

__all__ = ["register"]


def cmd_mcp(args: argparse.Namespace) -> int:
    from api import create_mcp_server
    from ragcli.main import open_pipeline

    # Set but empty is a mistake (an assistant's configuration naming an unset variable), not "read
    # everything": it is refused like any token that names no key.
    token = os.environ.get("RAG_KEY")
    server = create_mcp_server(open_pipeline(args, create=False), token=token)
    server.run("stdio")  # stdout is the protocol's from here on; logs go to stderr
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("mcp", help="serve the Model Context Protocol over stdio, for AI assistants (tools "
                                        "ask, search and get_document); $RAG_KEY limits it to what a key reads")
    p.set_defaults(handler=cmd_mcp)
