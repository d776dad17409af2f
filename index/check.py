"""Checking that the parts of an index agree (``rag check``)."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.live import LiveVectors, saved_copies
from index.live_lexical import LiveLexical
from index.manifest import STORE_FILE, IndexSettings
from index.store import Store

__all__ = ["CheckReport", "check_index"]


@dataclass(slots=True)
class CheckReport:
    """What ``IndexDirectory.check`` found; ``ok`` when every part agrees."""

    generation: int  # the number of the last committed write
    documents: int
    chunks: int
    problems: list[str]
    vectors: dict[str, Any] | None = None  # the vector index a process opening it now would search

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "generation": self.generation, "documents": self.documents,
                "chunks": self.chunks, "problems": self.problems, "vectors": self.vectors}


def _disagreement(lacks: str, has: str, ids: np.ndarray, store_ids: np.ndarray) -> list[str]:
    """The problem, if a copy in memory does not hold exactly the stored chunks (each once)."""
    missing, extra = np.setdiff1d(store_ids, ids), np.setdiff1d(ids, store_ids)
    if not len(missing) and not len(extra) and len(ids) == len(store_ids):
        return []
    return [f"{lacks} {len(missing)} stored chunks and {has} {len(extra)} unknown ones"
            + ("" if len(ids) == len(np.unique(ids)) else " (and duplicate ids)")]


def check_index(root: Path, settings: IndexSettings) -> CheckReport:
    """Do the store's counts, the chunks' text, the saved vectors and the saved lexical index agree?

    Each part is read afresh from disk, and a part that cannot be read at all is reported as a
    problem rather than raised.
    """
    problems: list[str] = []
    try:
        store = Store(root / STORE_FILE)
        seq, n_docs, n_chunks = store.counts()
        store_ids = store.chunk_ids()
        actual_docs = store.count_documents()
        bad = store.chunk_slices_agree()
    except (sqlite3.Error, OSError) as exc:
        return CheckReport(-1, 0, 0, [f"the store cannot be read ({exc}); it is the source of truth, so the "
                                      "index must be rebuilt from the original files"])
    if (n_docs, n_chunks) != (actual_docs, len(store_ids)):
        problems.append(f"the store counts {n_docs} documents / {n_chunks} chunks but holds "
                        f"{actual_docs} / {len(store_ids)}")
    if bad:
        problems.append(f"{len(bad)} chunks differ from their document's text at their offsets")
    for saved_seq, path in saved_copies(root)[:1] + saved_copies(root, lexical=True)[:1]:
        if saved_seq > seq:
            problems.append(f"the saved copy {path.name} is newer than the store's last write ({seq})")
    live = LiveVectors(root, store, settings.vector_index, settings.dimension, may_switch=False)
    vectors = None
    try:
        live.refresh()  # loads the newest usable copy once, noting any it could not read
        vectors = live.describe(measure_recall=True)
        problems += [f"the saved vectors {path.name} cannot be read ({why})" for path, why in live.unreadable]
        problems += _disagreement("the vectors lack", "have", live.ids(), store_ids)
    except (sqlite3.Error, OSError, RuntimeError, ValueError) as exc:
        problems.append(f"the vectors cannot be rebuilt from the saved copy and the store: {exc}")
    lexical = LiveLexical(root, store, k1=settings.bm25["k1"], b=settings.bm25["b"])
    try:
        lexical.refresh()
        problems += [f"the saved lexical index {path.name} cannot be read ({why})" for path, why in lexical.unreadable]
        problems += _disagreement("the lexical index lacks", "has", lexical.ids(), store_ids)
    except (sqlite3.Error, OSError, ValueError) as exc:
        problems.append(f"the lexical index cannot be rebuilt from the saved copy and the store: {exc}")
    finally:
        store.close()
    return CheckReport(seq, n_docs, n_chunks, problems, vectors)
