"""``/documents``: create (JSON record or file upload), list, show, delete."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from domain.access import MAX_GROUPS
from domain.limits import MAX_ID_BYTES, MAX_METADATA_BYTES, MAX_METADATA_DEPTH, MAX_METADATA_KEYS, MAX_TITLE_CHARS

__all__ = ["DocumentCreate", "DocumentCreated", "DocumentSummary", "DocumentsPublic", "ExclusionPublic",
           "DocumentPublic"]


class DocumentCreate(BaseModel):
    """A record, as in ``.json``/``.jsonl`` files. Without ``id``, the id is a hash of the text."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"id": "faq-1", "title": "Returns", "text": "Items can be returned within 30 days.",
                      "metadata": {"lang": "en"}}]})

    id: StrictStr | None = Field(default=None, min_length=1, max_length=MAX_ID_BYTES,
                                 description=f"At most {MAX_ID_BYTES} bytes of UTF-8; no control characters.")
    title: StrictStr | None = Field(default=None, max_length=MAX_TITLE_CHARS)
    text: StrictStr
    metadata: dict[str, Any] | None = Field(
        default=None, description=f"JSON values, at most {MAX_METADATA_DEPTH} levels deep, {MAX_METADATA_KEYS:,} keys "
                                  f"and {MAX_METADATA_BYTES // 1024} KiB as JSON.")
    groups: list[StrictStr] | None = Field(
        default=None, description=f"Who may read it: 1 to {MAX_GROUPS} group names (letters, digits, '_', '.', '-'). "
                                  "Default: [\"public\"], or a write key's own groups.")


class DocumentCreated(BaseModel):
    """The result of ``POST /documents``; posting the same content again gives ``unchanged``."""

    doc_id: str
    chunks: int = Field(description="Chunks the document is indexed as.")
    status: Literal["added", "updated", "unchanged"]
    doc_ids: list[str] = Field(description="Every document created: more than one for a .json/.jsonl upload "
                                           "holding several records.")
    skipped: list[dict[str, str]] = Field(default_factory=list,
                                          description="Records of the upload that could not be ingested, with why.")
    excluded_chars: int = Field(default=0, description="Characters left out of the index as boilerplate; "
                                                       "GET /documents/{id} lists them with their reasons.")


class DocumentSummary(BaseModel):
    """A listed document: everything but its text."""

    doc_id: str
    title: str
    source: str
    n_chars: int
    n_chunks: int
    content_hash: str
    groups: list[str] = Field(description="Who may read it.")
    metadata: dict[str, Any]
    pages: int | None = None


class DocumentsPublic(BaseModel):
    data: list[DocumentSummary]
    count: int = Field(description="Documents in the index, all pages together.")
    offset: int
    limit: int


class ExclusionPublic(BaseModel):
    """A range of the document's text left out of the index as boilerplate."""

    start: int
    end: int = Field(description="``text[start:end]`` is the excluded text.")
    reason: str = Field(description="\"footer\", \"repeated\" or \"outside main content\".")


class DocumentPublic(BaseModel):
    """One document with its full ``text`` (the ``rag show --json`` object); citations index into it."""

    doc_id: str
    title: str
    source: str
    groups: list[str] = Field(description="Who may read it.")
    metadata: dict[str, Any]
    pages: int | None
    excluded: list[ExclusionPublic] = Field(description="What of ``text`` is not indexed, and why.")
    text: str
