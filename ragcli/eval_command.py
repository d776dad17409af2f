"""``rag [--index DIR] eval --qa FILE ...``: the eval harness (see :mod:`eval.cli`)."""
from __future__ import annotations

import argparse

__all__ = ["register"]


def cmd_eval(args: argparse.Namespace) -> int:
    from eval import run

    return run(args)


def register(commands: argparse._SubParsersAction) -> None:
    from eval import add_arguments

    p = commands.add_parser(
        "eval", help="score retrieval and answers against question-answer pairs (SQuAD JSON or JSONL)",
        description="Score retrieval and answers against question-answer pairs. Exit status 3 when a primary "
                    "metric falls more than --max-drop below --baseline.")
    add_arguments(p)
    p.set_defaults(handler=cmd_eval)
