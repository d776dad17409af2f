"""``rag fit {split,fusion,sentence-ranker,no-answer,record-eval} ...``: write what the product learns
(see :mod:`eval.fitting.cli`)."""
from __future__ import annotations

import argparse

__all__ = ["register"]


def register(commands: argparse._SubParsersAction) -> None:
    from eval import add_fit_commands

    p = commands.add_parser(
        "fit", help="fit the fusion weights, the sentence ranker or a reader's no-answer model, with provenance",
        description="Fit what the product learns besides the reader's weights, on training data with held-out "
                    "halves of articles; each command writes its file with its provenance (command, commit, data "
                    "with sha256, embedder, seed, features) and prints its held-out figures. "
                    "`bash scripts/refit_all.sh` runs every fit in order.")
    add_fit_commands(p)
