"""What versions before the store-only sentence vectors wrote: a FAISS index over all sentences."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np

from index import create_vector_index


def write_old_sentence_index(folder: Path) -> None:
    """Add to generation ``folder`` the two files the old ``_write_derived`` wrote, built as it built them.

    ``sentences.faiss``: the index's vector-index kind over every sentence vector, ids = sentence ids;
    ``sentence_chunks.npy``: the stacked (sentence ids, their chunk ids), in sentence id order.
    """
    settings = json.loads((folder.parent / "manifest.json").read_text())["settings"]
    db = sqlite3.connect(folder / "store.sqlite")
    rows = db.execute("SELECT sentence_id, chunk_id, vector FROM sentences ORDER BY sentence_id").fetchall()
    db.close()
    assert rows, "an old-format fixture needs sentences"
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    vectors = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), settings["dimension"])
    old = create_vector_index(settings["vector_index"], settings["dimension"])
    old.add(ids, vectors)
    old.save(folder / "sentences.faiss")
    np.save(folder / "sentence_chunks.npy", np.stack([ids, np.array([r[1] for r in rows], dtype=np.int64)]))
