"""Record a ``rag eval`` report's figures in a reader's card, so the card carries the figures the
README quotes, with the dataset's sha256, the mode and the answerer's settings."""
from __future__ import annotations

import os
from typing import Any

from rag import read_card, write_card

__all__ = ["card_entry", "record_eval"]


def card_entry(report: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The default name (dataset and mode) and the card entry for ``report``."""
    config = report["config"]
    mode = "gold passage" if config.get("gold_passage") else f"open-domain, {config.get('retrieval')}"
    return f"{report['dataset']} ({mode})", {
        "dataset_sha256": config.get("dataset_sha256"), "questions": report["n_questions"], "mode": mode,
        "squad2": report.get("squad2"), "answer": report["answer"], "no_answer": report["no_answer"],
        "retrieval": report["retrieval"] if not config.get("gold_passage") else None,
        "answerer": config.get("answerer"), "index": {k: config.get(k) for k in ("model", "sentence_vectors")},
    }


def record_eval(report: dict[str, Any], reader_dir: str | os.PathLike[str], name: str | None = None) -> str:
    """Add ``report`` to the card of ``reader_dir`` under ``name``; the name used."""
    default, entry = card_entry(report)
    card = read_card(reader_dir)
    card.setdefault("eval", {})[name or default] = entry
    write_card(reader_dir, card)
    return name or default
