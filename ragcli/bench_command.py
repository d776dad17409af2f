"""``rag bench [--smoke] [--out DIR] [--only SECTION]...``: the speed benchmark (see :mod:`bench`)."""
from __future__ import annotations

import argparse

__all__ = ["register"]


def cmd_bench(args: argparse.Namespace) -> int:
    from bench import run_and_report

    return run_and_report(args)


def register(commands: argparse._SubParsersAction) -> None:
    from bench import add_arguments

    p = commands.add_parser(
        "bench", help="measure ingest and answer speed, memory and vector search at scale",
        description="Measure ingest throughput (against a plain sentence-transformers encode loop), re-ingest, "
                    "ask latency in-process and over HTTP, footprint, and vector search on 1M vectors. Prints a "
                    "Markdown table and writes DIR/bench.json. Ignores the global --index: it builds its own; the global --reader is the reader that answers, "
                    "in-process and in the served child.")
    add_arguments(p)
    p.set_defaults(handler=cmd_bench)
