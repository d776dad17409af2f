"""What labels a document (its groups and metadata) and who may write them: the content hash that tells a
relabelling from a change of text, labelling documents as they are ingested, the groups a writer may
write, and ``where`` filters read into a scope."""
from __future__ import annotations

import dataclasses
import hashlib
import json

from domain.access import FilterError, Scope, parse_where
from domain.errors import InvalidQuestionError
from domain.types import Document, IngestReport, SkippedFile

__all__ = ["content_hash", "same_embedding", "labelled", "writable", "where_scope"]


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def content_hash(doc: Document) -> str:
    """What decides whether a re-ingested document changed, in two parts: ``EMBEDDED-LABELS``. The first
    covers what is embedded and indexed (text, title, exclusions): when only the second changes (groups,
    metadata), the document is relabelled without being embedded again."""
    excluded = [[ex.start, ex.end, ex.reason] for ex in doc.excluded]
    return f"{_digest([doc.text, doc.title, *([excluded] if excluded else [])])}-{_digest([doc.metadata, doc.groups])[:16]}"


def _legacy_hash(doc: Document) -> str:
    """The content hash of versions before groups (one part, metadata included): an index written by one
    relabels rather than re-embeds a document whose text and metadata are unchanged."""
    excluded = [[ex.start, ex.end, ex.reason] for ex in doc.excluded]
    return _digest([doc.text, doc.title, doc.metadata, *([excluded] if excluded else [])])


def same_embedding(stored: str | None, doc: Document, digest: str) -> bool:
    return stored is not None and (stored.split("-")[0] == digest.split("-")[0] or stored == _legacy_hash(doc))


def writable(writer, docs: dict[str, Document], within: frozenset[str], report: IngestReport) -> dict[str, Document]:
    """The documents a caller who may write ``within`` may write; the others skipped as denied."""
    stored = writer.stored_groups(list(docs))
    allowed = {}
    for doc_id, doc in docs.items():
        outside = set(doc.groups) - within
        if outside:
            reason = f"this key may not write to the groups {', '.join(sorted(outside))}"
        elif not set(stored.get(doc_id, ())) <= within:
            reason = "a stored document with this id belongs to groups this key may not write to"
        else:
            allowed[doc_id] = doc
            continue
        report.skipped.append(SkippedFile(doc.source, reason))
        report.denied.append(doc_id)
    return allowed


def labelled(doc: Document, groups: tuple[str, ...] | None, metadata: dict | None) -> Document:
    """``doc`` in ``groups`` (when given), with ``metadata`` added to its own."""
    if groups:
        doc = dataclasses.replace(doc, groups=groups)
    if metadata:
        doc = dataclasses.replace(doc, metadata={**doc.metadata, **metadata})
    return doc


def where_scope(where: object, scope: Scope | None = None) -> Scope:
    """``scope`` (default: everything) narrowed by a ``where`` object. Raises :class:`InvalidQuestionError`."""
    try:
        conditions = parse_where(where)
    except FilterError as exc:
        raise InvalidQuestionError(f"where: {exc}") from exc
    return (scope or Scope()).narrowed(conditions)
