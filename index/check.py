"""Checking that the parts of one generation agree (``rag check``)."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.lexical import Bm25Index
from index.manifest import BM25_DIR, STORE_FILE, VECTORS_FILE, Manifest
from index.store import Store
from index.vectors import load_vector_index

__all__ = ["CheckReport", "check_generation"]


@dataclass(slots=True)
class CheckReport:
    """What ``IndexDirectory.check`` found; ``ok`` when every store agrees."""

    generation: int
    documents: int
    chunks: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "generation": self.generation, "documents": self.documents,
                "chunks": self.chunks, "problems": self.problems}


def check_generation(folder: Path, manifest: Manifest) -> CheckReport:
    """Do the manifest, the store, FAISS and BM25 in ``folder`` agree on every chunk?

    Each part is read afresh from disk, and a part that cannot be read at all is reported as a
    problem rather than raised. Sentences live only in the store, so there is nothing to compare
    them with; files this version does not write (an older version's sentence index) are ignored.
    """
    problems: list[str] = []
    try:
        store = Store(folder / STORE_FILE, readonly=True)
        store_ids = store.chunk_ids()
        n_docs = store.count_documents()
        bad = store.chunk_slices_agree()
        store.close()
    except (sqlite3.Error, OSError) as exc:
        problems.append(f"the store of generation {manifest.generation} cannot be read ({exc}); "
                        "it is the source of truth, so the index must be rebuilt from the original files")
        return CheckReport(manifest.generation, manifest.documents, manifest.chunks, problems)
    if manifest.documents != n_docs or manifest.chunks != len(store_ids):
        problems.append(
            f"manifest counts {manifest.documents} documents / {manifest.chunks} chunks, "
            f"store holds {n_docs} / {len(store_ids)}"
        )
    for name, load_ids in (
        ("FAISS", lambda: load_vector_index(manifest.settings.vector_index, folder / VECTORS_FILE).ids()),
        ("BM25", lambda: Bm25Index.load(folder / BM25_DIR).chunk_ids),
    ):
        try:
            ids = load_ids()
        except (OSError, RuntimeError, ValueError, KeyError, EOFError) as exc:
            problems.append(f"{name} cannot be read: {exc}")
            continue
        missing = np.setdiff1d(store_ids, ids)
        extra = np.setdiff1d(ids, store_ids)
        if len(missing) or len(extra) or len(ids) != len(store_ids):
            problems.append(f"{name} lacks {len(missing)} stored chunks and has {len(extra)} unknown ones"
                            + ("" if len(ids) == len(np.unique(ids)) else " (and duplicate ids)"))
    if bad:
        problems.append(f"{len(bad)} chunks differ from their document's text at their offsets")
    return CheckReport(manifest.generation, n_docs, len(store_ids), problems)
