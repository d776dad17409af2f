"""Sustained load on a real server on 127.0.0.1: zero errors, and bounded memory.

    .venv/bin/python -m tests.reliability.load_run --seconds 300 --rate 40 [--fake] [--squad] [--json out.json]

Builds an index (the news corpus from ../shared, plus the SQuAD dev contexts with ``--squad``),
starts the HTTP service on it in a child process with the bundled model (``--fake``: the hash
embedder), warms it up, then sends ``--rate`` requests per second on a fixed schedule for
``--seconds`` (the mix of questions, document lists, document views, probes and metrics is
``tests.reliability.load.DEFAULT_MIX``; ``--ask-share`` changes the share of questions). Prints the
figures and exits 1 on any error or if the server's memory grew by 10% or more from
``--reference`` seconds (default 60) to the end. The CI version is ``tests/reliability/test_load.py``.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from tests.reliability.load import DEFAULT_MIX, QUESTIONS, build_index, run_load
from tests.reliability.server import serve


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--rate", type=float, default=40, help="requests per second (default 40)")
    parser.add_argument("--reference", type=float, default=60,
                        help="memory growth is measured from this second to the end (default 60)")
    parser.add_argument("--ask-share", type=float, help="fraction of requests that are questions "
                                                        f"(default {DEFAULT_MIX['ask'] / sum(DEFAULT_MIX.values()):.2f})")
    parser.add_argument("--fake", action="store_true", help="the hash embedder instead of the bundled model")
    parser.add_argument("--squad", action="store_true", help="also index the SQuAD dev contexts (~400 documents)")
    parser.add_argument("--index", type=Path, help="index directory (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()

    mix = dict(DEFAULT_MIX)
    if args.ask_share is not None:
        others = sum(v for k, v in mix.items() if k != "ask")
        mix["ask"] = round(others * args.ask_share / (1 - args.ask_share)) if args.ask_share < 1 else 1
        if args.ask_share >= 1:
            mix = {"ask": 1}
    temporary = None if args.index else Path(tempfile.mkdtemp(prefix="rag-load-"))
    index = args.index or temporary / "index"
    try:
        doc_ids = build_index(index, real_model=not args.fake, squad=args.squad)
        log_path = (temporary or index.parent) / "load-server.log"
        with serve(index, log_path=log_path, real_model=not args.fake, log_level="warning") as (url, process):
            import httpx

            with httpx.Client(base_url=url, timeout=60) as client:  # warm up: model, caches, first requests
                for question in QUESTIONS * 2:
                    client.post("/ask", json={"question": question}).raise_for_status()
            report = run_load(url, rate=args.rate, seconds=args.seconds, doc_ids=doc_ids, pid=process.pid, mix=mix)
        summary = {"documents": len(doc_ids), "model": "hash" if args.fake else "bundled all-MiniLM-L6-v2",
                   "mix": mix, **report.summary(reference=args.reference)}
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    growth = summary["rss_mb"]["growth_pct"]
    return 0 if summary["errors"] == 0 and growth is not None and growth < 10 else 1


if __name__ == "__main__":
    sys.exit(main())
