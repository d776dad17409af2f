"""The plain data types every part of the system passes around.

Offsets are Python string indices into ``Document.text``: for every chunk, passage and answer,
``document.text[char_start:char_end]`` is exactly the text it carries.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "PUBLIC",
    "Document",
    "Exclusion",
    "Chunk",
    "Citation",
    "Passage",
    "Answer",
    "AskResult",
    "SkippedFile",
    "ExcludedText",
    "IngestReport",
    "DocumentInfo",
]


PUBLIC = "public"  # the group every document is in unless told otherwise (domain.access)


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A range of a document's text left out of the index, and why (see :mod:`rag.boilerplate`)."""

    start: int
    end: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Document:
    """One loaded document.

    Attributes:
        doc_id: stable identifier (a hash of the file's path, or the record's own ``id``).
        text: the full text; citations index into it. For ``.txt``/``.md`` it is the file's
            decoded text, unchanged.
        source: the path as it was ingested (or ``upload:NAME`` / the record's file).
        title: a human title (heading, ``<title>``, record title or file name).
        metadata: free-form JSON-compatible data supplied with the document.
        page_starts: for PDFs, the offset in ``text`` where each page begins (page 1 first).
        excluded: the ranges of ``text`` left out of the index as boilerplate, sorted, each with
            its reason. The text itself is never cut: citations always point into the whole of it.
        groups: who may read it (:mod:`domain.access`): sorted group names, ``("public",)`` by default.
    """

    doc_id: str
    text: str
    source: str
    title: str
    metadata: dict[str, Any] = field(default_factory=dict)
    page_starts: tuple[int, ...] | None = None
    excluded: tuple[Exclusion, ...] = ()
    groups: tuple[str, ...] = (PUBLIC,)

    def to_dict(self) -> dict[str, Any]:
        """The document as ``rag show --json`` and ``GET /documents/{id}`` give it."""
        return {"doc_id": self.doc_id, "title": self.title, "source": self.source, "groups": list(self.groups),
                "metadata": self.metadata, "pages": len(self.page_starts) if self.page_starts else None,
                "excluded": [ex.to_dict() for ex in self.excluded], "text": self.text}

    def page_of(self, offset: int) -> int | None:
        """The 1-based page holding ``offset``, or ``None`` for documents without pages."""
        if not self.page_starts:
            return None
        page = 1
        for number, start in enumerate(self.page_starts, start=1):
            if start <= offset:
                page = number
            else:
                break
        return page


@dataclass(frozen=True, slots=True)
class Chunk:
    """A span of a document that is embedded and indexed as one unit."""

    doc_id: str
    ordinal: int
    char_start: int
    char_end: int
    text: str
    n_tokens: int


@dataclass(frozen=True, slots=True)
class Citation:
    """Where a piece of text comes from, precise to the character."""

    doc_id: str
    title: str
    source: str
    page: int | None
    chunk_id: int
    char_start: int
    char_end: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved chunk with its fused relevance score."""

    text: str
    score: float
    citation: Citation

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "score": round(self.score, 4), "citation": self.citation.to_dict()}


@dataclass(frozen=True, slots=True)
class Answer:
    """An extract copied from a document: ``text`` lies inside ``sentence``."""

    text: str
    score: float
    sentence: str
    sentence_start: int
    sentence_end: int
    citation: Citation

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "score": round(self.score, 4),
            "sentence": self.sentence,
            "sentence_start": self.sentence_start,
            "sentence_end": self.sentence_end,
            "citation": self.citation.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class AskResult:
    """What ``Pipeline.ask`` returns; ``to_dict`` is the ``rag ask --json`` object."""

    question: str
    no_answer: bool
    confidence: float
    answers: list[Answer]
    passages: list[Passage]
    timings_ms: dict[str, float]
    no_answer_threshold: float = 0.0  # ``no_answer`` is ``confidence < no_answer_threshold``
    signals: dict[str, float] = field(default_factory=dict)  # what the confidence was computed from

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "no_answer": self.no_answer,
            "confidence": round(self.confidence, 4),
            "no_answer_threshold": round(self.no_answer_threshold, 4),
            "answers": [a.to_dict() for a in self.answers],
            "passages": [p.to_dict() for p in self.passages],
            "timings_ms": {name: round(ms, 2) for name, ms in self.timings_ms.items()},
        }


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file or record that was not ingested, and why."""

    source: str
    reason: str


@dataclass(frozen=True, slots=True)
class ExcludedText:
    """How much of one ingested document was left out of the index as boilerplate, by reason."""

    doc_id: str
    source: str
    chars: int
    by_reason: dict[str, int]


@dataclass(slots=True)
class IngestReport:
    """The summary of one ingest run."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    excluded: list[ExcludedText] = field(default_factory=list)
    denied: list[str] = field(default_factory=list)  # ids skipped as outside the writer's groups (also in skipped)
    chunks_added: int = 0
    chunks_removed: int = 0
    seconds: float = 0.0

    def merge(self, other: IngestReport) -> None:
        """Add ``other``'s documents, skips, exclusions and chunk counts to this report."""
        for name in ("added", "updated", "unchanged", "skipped", "excluded", "denied"):
            getattr(self, name).extend(getattr(other, name))
        self.chunks_added += other.chunks_added
        self.chunks_removed += other.chunks_removed

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": [asdict(s) for s in self.skipped],
            "excluded": [asdict(e) for e in self.excluded],
            "chunks_added": self.chunks_added,
            "chunks_removed": self.chunks_removed,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """A document as listed: everything but its text."""

    doc_id: str
    title: str
    source: str
    n_chars: int
    n_chunks: int
    content_hash: str
    metadata: dict[str, Any]
    pages: int | None = None
    groups: tuple[str, ...] = (PUBLIC,)

    def to_dict(self) -> dict[str, Any]:
        # Not ``asdict``: it deep-copies ``metadata`` recursively, and user data has no business
        # deciding how deep this process recurses.
        return {"doc_id": self.doc_id, "title": self.title, "source": self.source, "n_chars": self.n_chars,
                "n_chunks": self.n_chunks, "content_hash": self.content_hash, "groups": list(self.groups),
                "metadata": self.metadata, "pages": self.pages}
