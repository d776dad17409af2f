"""Persistence: one index directory holding a manifest, a SQLite store and saved FAISS vectors.

The rest of the system talks to :class:`IndexDirectory` and the :class:`Snapshot` it hands out.
"""
from __future__ import annotations

from index.check import CheckReport
from index.directory import IndexDirectory, Snapshot, Writer
from index.manifest import IndexSettings, Manifest
from index.store import StoredChunk
from index.vectors import FaissIndex, VectorIndex, create_vector_index

__all__ = [
    "CheckReport",
    "FaissIndex",
    "IndexDirectory",
    "IndexSettings",
    "Manifest",
    "Snapshot",
    "StoredChunk",
    "VectorIndex",
    "Writer",
    "create_vector_index",
]
