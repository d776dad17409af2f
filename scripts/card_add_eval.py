"""Record a `rag eval` report's figures in a reader's card.

    .venv/bin/python scripts/card_add_eval.py REPORT.json [--reader rag/models/reader] [--name NAME]

Copies the report's ``squad2`` block, its answer and no-answer sections, the dataset with its
sha256, the mode (open-domain retrieval or ``--gold-passage``), the commit and the command line
into ``card.json["eval"][NAME]`` (default NAME: dataset and mode), so the card carries the figures
the README quotes.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rag.reader.model_dir import DEFAULT_READER_DIR, read_card, write_card  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report", type=Path)
    parser.add_argument("--reader", type=Path, default=DEFAULT_READER_DIR)
    parser.add_argument("--name")
    args = parser.parse_args()
    report = json.loads(args.report.read_text(encoding="utf-8"))
    config = report["config"]
    mode = "gold passage" if config.get("gold_passage") else f"open-domain, {config.get('retrieval')}"
    name = args.name or f"{report['dataset']} ({mode})"
    card = read_card(args.reader)
    card.setdefault("eval", {})[name] = {
        "dataset_sha256": config.get("dataset_sha256"), "questions": report["n_questions"], "mode": mode,
        "squad2": report.get("squad2"), "answer": report["answer"], "no_answer": report["no_answer"],
        "retrieval": report["retrieval"] if not config.get("gold_passage") else None,
        "answerer": config.get("answerer"), "index": {k: config.get(k) for k in ("model", "sentence_vectors")},
    }
    write_card(args.reader, card)
    print(f"added {name!r} to {args.reader / 'card.json'}")


if __name__ == "__main__":
    main()
