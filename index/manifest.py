"""The manifest (what an index is built with) and the directory's file names.

The manifest is written once, when the index is created (or migrated), by writing a temporary
file, fsyncing it and renaming it over the old one. Writes no longer go through it: the store's
transactions are their commit point (:mod:`index.store`).
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from domain.errors import IndexCorruptError, IndexMismatchError

__all__ = ["SCHEMA_VERSION", "MANIFEST", "STORE_FILE", "IndexSettings", "Manifest", "read_manifest",
           "write_manifest", "fsync_dir"]

# 1: a full copy of every store per write, in gen-NNNNNN/ folders (migrated on open); 2: one store.
SCHEMA_VERSION = 2
MANIFEST = "manifest.json"
STORE_FILE = "store.sqlite"


@dataclass(frozen=True, slots=True)
class IndexSettings:
    """What an index is built with; opening it with different settings is an error."""

    model_name: str
    model_sha256: str
    dimension: int
    tokenizer: str
    chunking: dict[str, Any]
    vector_index: str = "auto"
    # "separate": each sentence embedded on its own (exact); "late": pooled from its chunk's pass.
    sentence_vectors: str = "separate"
    # BM25's parameters (index.lexical_index; those SQLite FTS5 ranked with before).
    bm25: dict[str, float] = field(default_factory=lambda: {"k1": 1.2, "b": 0.75})


@dataclass(frozen=True, slots=True)
class Manifest:
    schema_version: int
    settings: IndexSettings
    created_at: float
    generation: int | None = None  # schema 1 only: the generation folder in force

    def to_json(self) -> str:
        body = {"schema_version": self.schema_version, "settings": asdict(self.settings), "created_at": self.created_at}
        return json.dumps(body, indent=2, sort_keys=True)


def read_manifest(root: Path) -> Manifest | None:
    """The manifest of the index at ``root`` (schema 1 or 2), or None if there is none."""
    path = root / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        body = json.loads(text)
        version = int(body["schema_version"])
        settings = IndexSettings(**body["settings"])
        generation = int(body["generation"]) if version == 1 else None
        manifest = Manifest(version, settings, float(body["created_at"]), generation)
    except (ValueError, TypeError, KeyError) as exc:
        raise IndexCorruptError(f"{path} is not a valid manifest: {exc}") from exc
    if version not in (1, SCHEMA_VERSION):
        raise IndexMismatchError(
            f"{path} has schema version {version}; this version reads 1 and {SCHEMA_VERSION}. Rebuild the index."
        )
    return manifest


def write_manifest(root: Path, manifest: Manifest) -> None:
    tmp = root / f"{MANIFEST}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(manifest.to_json())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, root / MANIFEST)
    fsync_dir(root)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
