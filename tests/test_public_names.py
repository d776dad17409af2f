"""Pin the public names, so a change to them is a decision and not an accident."""
from __future__ import annotations

import importlib

import pytest

import rag

PUBLIC = {
    "rag": {"Pipeline", "where_scope", "ChunkingConfig", "Document", "Chunk", "Citation", "Passage", "Answer", "AskResult",
            "IngestReport", "DocumentInfo", "SkippedFile", "RagError", "DocumentError", "DocumentNotFoundError",
            "InvalidQuestionError", "IndexMismatchError", "ModelError",
            # what api/, eval/ and the drivers use (docs/architecture.md)
            "MAX_K", "MAX_QUESTION_CHARS", "DEFAULT_BACKEND", "DEFAULT_SENTENCE_VECTORS", "DEFAULT_READER_DIR",
            "Chunker", "Embedder", "SentenceTransformerEmbedder", "HashEmbedder", "DEFAULT_MODEL_NAME", "backend_for",
            "Retriever", "Candidate", "RetrievalMode", "RETRIEVAL_MODES", "iter_files", "load_file", "load_bytes",
            "record_to_document", "mark_boilerplate", "indexable_ranges", "TrainSettings", "train_reader", "finish_from_checkpoint",
            # the fitted models and their files (eval.fitting)
            "fuse", "fusion_weights", "FUSION_SIGNALS", "DEFAULT_FUSION_FILE", "SentenceRanker", "sentence_features",
            "SENTENCE_FEATURES", "DEFAULT_SENTENCE_MODEL", "NoAnswerModel", "NO_ANSWER_SIGNALS", "NO_ANSWER_FILE",
            "AnswerSet", "read_card", "write_card", "read_model_file", "write_model_file",
            "file_sha256", "git_commit"},
    "index": {"CheckReport", "FaissIndex", "IndexDirectory", "IndexSettings", "Manifest", "Snapshot",
              "StoredChunk", "VectorIndex", "Writer", "create_vector_index", "build_approximate", "LexicalIndex", "query_terms",
              # the storage contract and its factory; what rag/ uses
              "IndexBackend", "IndexReader", "IndexWriter", "open_index", "stored_settings", "is_milvus",
              "MilvusIndex", "milvus_client", "SentenceVectors", "stemmed_terms", "STOPWORDS", "lexical_text", "VECTOR_INDEX_KINDS", "VectorIndexKind"},
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names_are_pinned(module):
    mod = importlib.import_module(module)
    assert set(mod.__all__) == PUBLIC[module]
    for name in mod.__all__:
        assert getattr(mod, name) is not None


def test_every_error_is_a_rag_error_with_a_code():
    from domain import errors

    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, rag.RagError) and isinstance(cls.code, str)
