"""Question answering over your own documents, with extracts cited to the character.

>>> from rag import Pipeline
>>> pipeline = Pipeline.open(".rag-index")
>>> pipeline.ingest(["docs/"])
>>> pipeline.ask("How do I delete a document?").answers[0].citation

The plain types and errors live in :mod:`domain` (which ``index`` uses too) and are re-exported here.
"""
from __future__ import annotations

from typing import Any

from domain.errors import (DocumentError, DocumentNotFoundError, IndexMismatchError, InvalidQuestionError,
                           ModelError, RagError)
from domain.types import Answer, AskResult, Chunk, Citation, Document, DocumentInfo, IngestReport, Passage, SkippedFile
from rag.answer import NO_ANSWER_FILE, AnswerSet, NoAnswerModel
from rag.answer import SIGNALS as NO_ANSWER_SIGNALS
from rag.boilerplate import indexable_ranges, mark_boilerplate
from rag.chunking import Chunker, ChunkingConfig
from rag.embed import DEFAULT_MODEL_NAME, Embedder, SentenceTransformerEmbedder, backend_for
from rag.hash_embedder import HashEmbedder
from rag.loaders import iter_files, load_bytes, load_file, record_to_document
from rag.model_file import read_model_file, write_model_file
from rag.pipeline import DEFAULT_BACKEND, DEFAULT_SENTENCE_VECTORS, MAX_K, MAX_QUESTION_CHARS, Pipeline, where_scope
from rag.provenance import file_sha256, git_commit
from rag.reader.model_dir import DEFAULT_READER_DIR, read_card, write_card
from rag.retrieve import DEFAULT_FUSION_FILE, RETRIEVAL_MODES, Candidate, RetrievalMode, Retriever, fuse, fusion_weights
from rag.retrieve import SIGNALS as FUSION_SIGNALS
from rag.sentence_rank import DEFAULT_SENTENCE_MODEL, SentenceRanker, sentence_features
from rag.sentence_rank import FEATURES as SENTENCE_FEATURES

__all__ = [
    "Pipeline",
    "where_scope",
    "MAX_K",
    "MAX_QUESTION_CHARS",
    "DEFAULT_BACKEND",
    "DEFAULT_SENTENCE_VECTORS",
    "DEFAULT_READER_DIR",
    "ChunkingConfig",
    "Chunker",
    "Embedder",
    "SentenceTransformerEmbedder",
    "HashEmbedder",
    "DEFAULT_MODEL_NAME",
    "backend_for",
    "Retriever",
    "Candidate",
    "RetrievalMode",
    "RETRIEVAL_MODES",
    "iter_files",
    "load_file",
    "load_bytes",
    "record_to_document",
    "mark_boilerplate",
    "indexable_ranges",
    # the fitted models, their files and what fitting them needs (eval.fitting)
    "fuse",
    "fusion_weights",
    "FUSION_SIGNALS",
    "DEFAULT_FUSION_FILE",
    "SentenceRanker",
    "sentence_features",
    "SENTENCE_FEATURES",
    "DEFAULT_SENTENCE_MODEL",
    "NoAnswerModel",
    "NO_ANSWER_SIGNALS",
    "NO_ANSWER_FILE",
    "AnswerSet",
    "read_card",
    "write_card",
    "read_model_file",
    "write_model_file",
    "file_sha256",
    "git_commit",
    "TrainSettings",
    "train_reader",
    "finish_from_checkpoint",
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

_TRAINING = {"TrainSettings", "train_reader", "finish_from_checkpoint"}


def __getattr__(name: str) -> Any:
    # Training needs torch, which answering never loads: imported on first use.
    if name in _TRAINING:
        from rag.reader import train

        return getattr(train, name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
