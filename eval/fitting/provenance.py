"""The ``about`` block every fitted file carries: the command, the commit, the data with its sha256,
the embedder, the seed and the feature names, so each fitted file says how to make it again."""
from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

from rag import DEFAULT_FUSION_FILE, file_sha256, git_commit

__all__ = ["provenance", "embedder_about"]

FITTED_FILES = str(DEFAULT_FUSION_FILE.parent)  # the shipped fitted files (rag/models/)


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
    """The ``about`` of a fitted file: how it was made, and from what. ``dirty`` says whether the code
    differed from ``commit``; the fitted files themselves do not count (a refit rewrites them in turn)."""
    commit, dirty = git_commit(ignore=(FITTED_FILES,))
    found: dict[str, Any] = {"command": list(command if command is not None else sys.argv), "commit": commit,
                             "dirty": dirty, "data": [{"path": str(p), "sha256": file_sha256(p)} for p in data]}
    if embedder is not None:
        found["embedder"] = dict(embedder)
    if seed is not None:
        found["seed"] = seed
    if features is not None:
        found["features"] = list(features)
    return {**found, **extra}
