"""Split ../shared/train/squad2-dev-other.json by article into a training half and a validation half.

The validation half (odd-numbered articles: 9 of 19, with their real SQuAD 2.0 unanswerable questions)
is what the reader's checkpoint, the no-answer threshold and the card's figures are measured on; the
public split is never used for any of them. Writes DIR/squad2-dev-other.train.json and
DIR/squad2-dev-other.val.json (default DIR: reader-data/).

    python scripts/prepare_reader_data.py [--shared ../shared] [--out reader-data]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    parser.add_argument("--out", default="reader-data")
    args = parser.parse_args()
    source = Path(args.shared) / "train" / "squad2-dev-other.json"
    body = json.loads(source.read_text(encoding="utf-8"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, keep in (("train", 0), ("val", 1)):
        part = {"version": body.get("version", "v2.0"),
                "data": [a for i, a in enumerate(body["data"]) if i % 2 == keep]}
        target = out / f"squad2-dev-other.{name}.json"
        target.write_text(json.dumps(part), encoding="utf-8")
        questions = sum(len(p["qas"]) for a in part["data"] for p in a["paragraphs"])
        print(f"{target}: {len(part['data'])} articles, {questions} questions")


if __name__ == "__main__":
    main()
