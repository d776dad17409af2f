"""The files the product's fitted models live in: JSON with the fitted values and an ``about`` block
that says how they were made (see ``eval.fitting.provenance``).

One reader and one writer for all of them (the fusion weights, the sentence ranker, the no-answer
model, a reader's card): a missing or damaged file is a :class:`~domain.errors.ModelError` naming the
file and what it lacks, and a write goes to a temporary file renamed into place, so a process
answering from the directory never reads half a file.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from domain.errors import ModelError

__all__ = ["read_model_file", "write_model_file"]


def read_model_file(path: str | os.PathLike[str], *, required: Iterable[str] = ()) -> dict[str, Any]:
    """The file's JSON object; every key in ``required`` must be in it."""
    path = Path(path)
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: cannot read this model file ({exc})") from exc
    if not isinstance(body, dict):
        raise ModelError(f"{path}: a model file holds a JSON object, not {type(body).__name__}")
    if missing := [key for key in required if key not in body]:
        raise ModelError(f"{path}: this model file lacks {', '.join(missing)}")
    return body


def write_model_file(path: str | os.PathLike[str], body: Mapping[str, Any]) -> None:
    """Write ``body`` (its ``about`` block included) atomically, making the directory if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
