"""Error analysis of a `rag eval` run: 100 sampled failures, each classed, and how spans sit against gold.

    .venv/bin/python scripts/analyse_failures.py eval-out/questions.jsonl [--n 100] [--seed 0] [--json FILE]

Classes (see eval.failures): abstained on an answerable question, answered an unanswerable one,
wrong passage, right passage but wrong sentence, boundary (overlaps a gold answer without matching
it), other span. Boundaries are counted over every answered answerable question, by the kind of
gold answer (number/date, name, other): ``inside`` is a span that stops inside a longer gold answer.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from eval import BOUNDARIES, failure_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("questions", type=Path, help="a run's questions.jsonl")
    parser.add_argument("--n", type=int, default=100, help="failures to sample (default 100)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the report, with the sampled failures, here")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    report = failure_report(rows, n=args.n, seed=args.seed)
    print(f"{report['questions']} questions, {report['failures']} failures, {report['sampled']} sampled (seed {args.seed})")
    for name, count in report["classes"].items():
        print(f"  {name:<24} {count:>4}")
    print("boundaries of answered answerable questions, by gold answer kind:")
    for kind, counts in report["boundaries"].items():
        total = sum(counts.values())
        shares = ", ".join(f"{name} {counts.get(name, 0) / total:.1%}" for name in BOUNDARIES)
        print(f"  {kind:<12} n={total:<5} {shares}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
