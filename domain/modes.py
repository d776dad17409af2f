"""Every choice a user names by a word, as a ``Literal`` type and the tuple of its values: one place
for the CLI's choices, the API's settings and the code's checks."""
from __future__ import annotations

from typing import Literal, get_args

__all__ = ["RetrievalMode", "RETRIEVAL_MODES", "EmbedderBackend", "EMBEDDER_BACKENDS", "SentenceVectorMode",
           "SENTENCE_VECTOR_MODES", "VectorIndexKind", "VECTOR_INDEX_KINDS", "IndexEngine", "INDEX_ENGINES",
           "BUILDABLE_ENGINES"]

RetrievalMode = Literal["hybrid", "dense", "bm25"]
RETRIEVAL_MODES: tuple[str, ...] = get_args(RetrievalMode)

# "onnx" (fp32) and "onnx-int8" run the model with ONNX Runtime; "torch" through sentence-transformers.
EmbedderBackend = Literal["onnx", "torch", "onnx-int8"]
EMBEDDER_BACKENDS: tuple[str, ...] = get_args(EmbedderBackend)

# "separate": each sentence embedded on its own; "late": pooled from its chunk's forward pass.
SentenceVectorMode = Literal["separate", "late"]
SENTENCE_VECTOR_MODES: tuple[str, ...] = get_args(SentenceVectorMode)

# The local engine's FAISS index: exact ("flat") or 8-bit inverted lists ("ivf-sq8").
VectorIndexKind = Literal["auto", "flat", "ivf-sq8"]
VECTOR_INDEX_KINDS: tuple[str, ...] = get_args(VectorIndexKind)

# Where an index lives: a local directory, a milvus-lite file, a Milvus server.
IndexEngine = Literal["local", "milvus-lite", "milvus"]
INDEX_ENGINES: tuple[str, ...] = get_args(IndexEngine)
BUILDABLE_ENGINES: tuple[str, ...] = ("local", "milvus-lite")  # what a tool can create in a scratch folder
