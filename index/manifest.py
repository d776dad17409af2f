"""The manifest (what an index was built with, its counts, its current generation) and the layout.

``manifest.json`` is the index's commit point: a writer replaces it atomically (temporary file,
fsync, rename) only after everything it names is on disk.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA_VERSION", "MANIFEST", "STORE_FILE", "VECTORS_FILE", "BM25_DIR", "IndexSettings", "Manifest",
           "fsync_dir", "fsync_tree", "gen_dir"]

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
# The files of one generation folder.
STORE_FILE, VECTORS_FILE, BM25_DIR = "store.sqlite", "vectors.faiss", "bm25"


def gen_dir(root: Path, generation: int) -> Path:
    return root / f"gen-{generation:06d}"


@dataclass(frozen=True, slots=True)
class IndexSettings:
    """What an index is built with; opening it with different settings is an error."""

    model_name: str
    model_sha256: str
    dimension: int
    tokenizer: str
    chunking: dict[str, Any]
    vector_index: str = "flat"
    # "separate": each sentence embedded on its own (exact); "late": pooled from its chunk's pass.
    sentence_vectors: str = "separate"
    bm25: dict[str, float] = field(default_factory=lambda: {"k1": 1.2, "b": 0.75})


@dataclass(frozen=True, slots=True)
class Manifest:
    schema_version: int
    generation: int
    settings: IndexSettings
    documents: int
    chunks: int
    created_at: float
    updated_at: float

    def to_json(self) -> str:
        body = asdict(self)
        body["settings"] = asdict(self.settings)
        return json.dumps(body, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        body = json.loads(text)
        body["settings"] = IndexSettings(**body["settings"])
        return cls(**body)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(path: Path) -> None:
    for item in sorted(path.rglob("*"), reverse=True):
        if item.is_file():
            with open(item, "rb") as f:
                os.fsync(f.fileno())
        else:
            fsync_dir(item)
    fsync_dir(path)
