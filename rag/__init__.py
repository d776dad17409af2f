"""Question answering over your own documents, with extracts cited to the character.

>>> from rag import Pipeline
>>> pipeline = Pipeline.open(".rag-index")
>>> pipeline.ingest(["docs/"])
>>> pipeline.ask("How do I delete a document?").answers[0].citation

Names are imported lazily so that ``import rag.types`` stays cheap and ``index`` may use the
plain types and errors without a circular import.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "Pipeline",
    "ChunkingConfig",
    "Document",
    "Chunk",
    "Citation",
    "Passage",
    "Answer",
    "AskResult",
    "IngestReport",
    "DocumentInfo",
    "SkippedFile",
    "RagError",
    "DocumentError",
    "DocumentNotFoundError",
    "InvalidQuestionError",
    "IndexMismatchError",
    "ModelError",
]

_HOMES = {
    "Pipeline": "rag.pipeline",
    "ChunkingConfig": "rag.chunking",
    **{name: "rag.types" for name in ("Document", "Chunk", "Citation", "Passage", "Answer", "AskResult",
                                      "IngestReport", "DocumentInfo", "SkippedFile")},
    **{name: "rag.errors" for name in ("RagError", "DocumentError", "DocumentNotFoundError", "InvalidQuestionError",
                                       "IndexMismatchError", "ModelError")},
}

if TYPE_CHECKING:
    from rag.chunking import ChunkingConfig
    from rag.errors import (DocumentError, DocumentNotFoundError, IndexMismatchError, InvalidQuestionError,
                            ModelError, RagError)
    from rag.pipeline import Pipeline
    from rag.types import Answer, AskResult, Chunk, Citation, Document, DocumentInfo, IngestReport, Passage, SkippedFile


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
