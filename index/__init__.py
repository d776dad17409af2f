"""Persistence: where an index lives and how it is read and written.

Two engines keep one contract (:mod:`index.backend`): a local directory (a manifest, a SQLite store, and
saved copies of its FAISS vectors and lexical index: :class:`IndexDirectory` and the :class:`Snapshot` it hands out) and Milvus
(:mod:`index.milvus`). The rest of the system opens an index with :func:`open_index`.
"""
from __future__ import annotations

from index.backend import IndexBackend, IndexReader, IndexWriter, is_milvus, open_index, stored_settings
from index.check import CheckReport
from index.directory import IndexDirectory, Snapshot, Writer
from index.lexical import STOPWORDS, lexical_text, stemmed_terms
from index.lexical_index import LexicalIndex, query_terms
from index.manifest import IndexSettings, Manifest
from index.milvus import MilvusIndex, milvus_client
from index.sentence_table import SentenceVectors
from index.store import StoredChunk
from index.vector_switch import build_approximate
from index.vectors import VECTOR_INDEX_KINDS, FaissIndex, VectorIndex, VectorIndexKind, create_vector_index

__all__ = [
    "CheckReport",
    "IndexBackend",
    "IndexReader",
    "IndexWriter",
    "FaissIndex",
    "IndexDirectory",
    "IndexSettings",
    "Manifest",
    "MilvusIndex",
    "SentenceVectors",
    "STOPWORDS",
    "lexical_text",
    "LexicalIndex",
    "query_terms",
    "VECTOR_INDEX_KINDS",
    "VectorIndexKind",
    "Snapshot",
    "StoredChunk",
    "VectorIndex",
    "Writer",
    "build_approximate",
    "create_vector_index",
    "is_milvus",
    "milvus_client",
    "open_index",
    "stemmed_terms",
    "stored_settings",
]
