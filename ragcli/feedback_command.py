"""``rag feedback list|export``: what people said of the answers, as eval questions and training data."""
from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

from ragcli.core_commands import _index_directory, _print_json

__all__ = ["register"]


def _since(text: str) -> float:
    """An ISO 8601 date or time (UTC unless it says otherwise), as seconds since 1970."""
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date or time, such as 2026-12-01") from exc
    return (moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)).timestamp()


def _items(args: argparse.Namespace):
    return _index_directory(args).feedback().list(args.since)


def cmd_feedback_list(args: argparse.Namespace) -> int:
    items = _items(args)
    if args.json:
        _print_json([item.to_dict() for item in items])
        return 0
    for item in items:
        when = datetime.datetime.fromtimestamp(item.created_at, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
        right = f" → {item.span.text!r} ({item.span.doc_id})" if item.span is not None else ""
        given = item.given.get("text")
        print(f"{item.id}  {when}  {item.verdict:9}  {item.question!r}  gave {given!r}{right}"
              + (f"  [{item.key_name}]" if item.key_name else ""))
    print(f"{len(items)} feedback")
    return 0


def cmd_feedback_export(args: argparse.Namespace) -> int:
    from eval import eval_records, squad_dataset

    if not args.jsonl and not args.squad:
        print("error: say where: --jsonl FILE and/or --squad FILE", file=sys.stderr)
        return 2
    items = _items(args)
    if args.jsonl:
        records, left_out = eval_records(items)
        Path(args.jsonl).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        print(f"wrote {len(records)} questions to {args.jsonl} ({left_out} 'wrong' without the right words left out)")
    if args.squad:
        dataset, left_out = squad_dataset(items)
        Path(args.squad).write_text(json.dumps(dataset, ensure_ascii=False, indent=1), encoding="utf-8")
        examples = sum(len(p["qas"]) for a in dataset["data"] for p in a["paragraphs"])
        print(f"wrote {examples} training examples to {args.squad} ({left_out} without the right words or a passage "
              "left out)")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("feedback", help="people's verdicts on answers (from the widget or POST /feedback)")
    actions = p.add_subparsers(dest="feedback_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the feedback, oldest first")
    listing.add_argument("--since", type=_since, metavar="DATE", help="only feedback given at or after this ISO date")
    listing.add_argument("--json", action="store_true", help="print the feedback as a JSON list")
    listing.set_defaults(handler=cmd_feedback_list)
    export = actions.add_parser("export", help="write the feedback as eval questions and/or training examples")
    export.add_argument("--jsonl", metavar="FILE", help="eval questions, for `rag --index DIR eval --qa FILE`")
    export.add_argument("--squad", metavar="FILE", help="SQuAD 2.0 JSON, for `rag train-reader --qa FILE`")
    export.add_argument("--since", type=_since, metavar="DATE", help="only feedback given at or after this ISO date")
    export.set_defaults(handler=cmd_feedback_export)
