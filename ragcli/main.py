"""``rag [--index DIR] COMMAND ...``: parse arguments, open the pipeline, print results."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

from ragcli import core_commands

__all__ = ["main", "build_parser", "open_pipeline"]

# Modules with ``register(subparsers)``; optional ones are skipped when their package is absent.
COMMAND_MODULES: tuple[str, ...] = ("ragcli.core_commands", "ragcli.serve_command", "ragcli.eval_command",
                                    "ragcli.bench_command", "ragcli.train_command",
                                    "ragcli.fit_command", "ragcli.keys_command", "ragcli.feedback_command",
                                    "ragcli.mcp_command")


def default_index_dir() -> str:
    return os.environ.get("RAG_INDEX_DIR") or ".rag-index"


def open_pipeline(args: argparse.Namespace, *, create: bool = True):
    """The pipeline for ``--index`` and ``--model``, with the real embedding model."""
    from rag import Pipeline

    return Pipeline.open(args.index, model_dir=args.model, backend=args.backend, create=create,
                         sentence_vectors=getattr(args, "sentence_vectors", None),
                         reader_dir=args.reader)


def _modules() -> list[ModuleType]:
    import importlib

    found = [core_commands]
    for name in COMMAND_MODULES[1:]:
        try:
            found.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag", description="Answer questions from your documents with extracts cited to the character.")
    parser.add_argument("--index", default=default_index_dir(), metavar="DIR",
                        help="index directory (default: $RAG_INDEX_DIR or ./.rag-index)")
    parser.add_argument("--model", default=os.environ.get("RAG_MODEL_DIR"), metavar="DIR",
                        help="a local sentence-transformers model directory (default: $RAG_MODEL_DIR or the "
                             "bundled all-MiniLM-L6-v2)")
    parser.add_argument("--backend", choices=["onnx", "onnx-int8", "torch"],
                        default=os.environ.get("RAG_EMBED_BACKEND") or None,
                        help="how the model runs (default: $RAG_EMBED_BACKEND, else whatever built the index, "
                             "else onnx-int8). onnx (float) ingests about half as fast with slightly different "
                             "vectors; an index is always read with the backend that built it")
    parser.add_argument("--reader", default=os.environ.get("RAG_READER_DIR") or None, metavar="DIR",
                        help="a reader directory written by `rag train-reader` (default: $RAG_READER_DIR or the "
                             "reader shipped in the package)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _modules():
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from domain.errors import RagError

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `rag ask ... | head`: the reader left; that is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
