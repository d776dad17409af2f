"""The ``about`` block every fitted file carries: the command, the commit, the data with its sha256,
the embedder, the seed and the feature names, so each fitted file says how to make it again."""
from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.report import git_commit

__all__ = ["provenance", "embedder_about", "file_sha256"]

_REPO = Path(__file__).resolve().parents[2]


def file_sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def embedder_about(pipeline: Any) -> dict[str, Any]:
    """The embedding model a pipeline's index was built with: what a fit on its scores depends on."""
    embedder = pipeline.embedder
    about = {"name": embedder.name, "sha256": embedder.sha256}
    for key in ("weights_sha256", "backend"):  # the model's own weights; how they run
        if (value := getattr(embedder, key, None)) is not None:
            about[key] = value
    about["sentence_vectors"] = pipeline.directory.settings.sentence_vectors
    return about


def provenance(data: Sequence[str | os.PathLike[str]], *, embedder: dict[str, Any] | None = None,
               seed: int | None = None, features: Sequence[str] | None = None,
               command: Sequence[str] | None = None, **extra: Any) -> dict[str, Any]:
    """The ``about`` of a fitted file: how it was made, and from what."""
    commit, dirty = git_commit(_REPO)
    found: dict[str, Any] = {"command": list(command if command is not None else sys.argv), "commit": commit,
                             "dirty": dirty, "data": [{"path": str(p), "sha256": file_sha256(p)} for p in data]}
    if embedder is not None:
        found["embedder"] = dict(embedder)
    if seed is not None:
        found["seed"] = seed
    if features is not None:
        found["features"] = list(features)
    return {**found, **extra}
