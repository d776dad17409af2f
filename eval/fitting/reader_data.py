"""The article split the reader's training and the no-answer fit share.

``../shared/train/squad2-dev-other.json`` (SQuAD 2.0 dev articles the public split does not hold)
is split by article: even-numbered articles join the reader's training data, odd-numbered ones
(with their real unanswerable questions) are the validation half the reader's checkpoint, the
no-answer thresholds and the card's figures are measured on.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["split_by_article", "write_reader_split"]


def split_by_article(body: dict) -> dict[str, dict]:
    """``{"train": ..., "val": ...}``: a SQuAD file's articles, even- and odd-numbered."""
    return {name: {"version": body.get("version", "v2.0"), "data": [a for i, a in enumerate(body["data"]) if i % 2 == keep]}
            for name, keep in (("train", 0), ("val", 1))}


def write_reader_split(source: str | os.PathLike[str], out: str | os.PathLike[str]) -> dict[str, Path]:
    """Write ``OUT/<stem>.train.json`` and ``OUT/<stem>.val.json``; their paths."""
    source, out = Path(source), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, part in split_by_article(json.loads(source.read_text(encoding="utf-8"))).items():
        target = written[name] = out / f"{source.stem}.{name}.json"
        target.write_text(json.dumps(part), encoding="utf-8")
    return written
