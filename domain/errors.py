"""Every error the library raises on purpose.

::

    RagError                      base class; catch this to catch them all
    ├── DocumentError             a file or record that cannot be ingested (the reason is the message)
    │   └── UnsupportedFormatError  a file type no loader handles
    ├── DocumentNotFoundError     a document id that is not in the index
    ├── InvalidQuestionError      an empty or over-long question, a bad ``k`` or ``where`` filter
    ├── InvalidFeedbackError      feedback on an answer that cannot be stored as it is (the message says why)
    ├── PermissionDeniedError     a write outside the groups the caller may write to
    ├── IndexStoreError           base for problems with the index directory
    │   ├── IndexMismatchError      the index was built with another model or chunking
    │   ├── IndexCorruptError       the files on disk disagree or cannot be read
    │   └── IndexLockedError        another writer holds the index
    └── ModelError                the embedding model cannot be loaded or fails its hash check
"""
from __future__ import annotations

__all__ = [
    "RagError",
    "DocumentError",
    "UnsupportedFormatError",
    "DocumentNotFoundError",
    "InvalidQuestionError",
    "PermissionDeniedError",
    "InvalidFeedbackError",
    "IndexStoreError",
    "IndexMismatchError",
    "IndexCorruptError",
    "IndexLockedError",
    "ModelError",
]


class RagError(Exception):
    """Base class of every error this package raises on purpose."""

    code = "rag_error"


class DocumentError(RagError):
    code = "bad_document"


class UnsupportedFormatError(DocumentError):
    code = "unsupported_format"


class DocumentNotFoundError(RagError):
    code = "document_not_found"


class InvalidQuestionError(RagError):
    code = "invalid_question"


class InvalidFeedbackError(RagError):
    code = "invalid_feedback"


class PermissionDeniedError(RagError):
    code = "forbidden"


class IndexStoreError(RagError):
    code = "index_error"


class IndexMismatchError(IndexStoreError):
    code = "index_mismatch"


class IndexCorruptError(IndexStoreError):
    code = "index_corrupt"


class IndexLockedError(IndexStoreError):
    code = "index_locked"


class ModelError(RagError):
    code = "model_error"
