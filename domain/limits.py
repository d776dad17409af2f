"""What a document may carry, checked where input enters and before anything is stored.

Every way in (HTTP records and uploads, ``.json``/``.jsonl`` records read by ``rag ingest``, the
Python API) goes through :func:`document_problem`, so a document that could not be stored, listed
or shown again is refused at the door with the limit it broke, never accepted and choked on later.

The limits are fixed: they bound what one document costs every reader of the index (a listing
serializes every document's metadata), not what a deployment can afford, and the Milvus engine's
64 kB row fields leave no room to raise them.
"""
from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from domain.access import groups_problem
from domain.errors import DocumentError
from domain.types import Document

__all__ = ["MAX_ID_BYTES", "MAX_TITLE_CHARS", "MAX_METADATA_DEPTH", "MAX_METADATA_KEYS", "MAX_METADATA_BYTES",
           "MAX_KEY_CHARS", "LIMITS", "check_document", "check_doc_id", "document_problem", "id_problem", "title_problem",
           "metadata_problem", "text_problem", "is_control", "load_json", "shown_metadata"]

MAX_ID_BYTES = 512  # UTF-8 bytes; Milvus keys its rows by the id with a suffix, within 1,024 bytes
MAX_TITLE_CHARS = 1_000
MAX_METADATA_DEPTH = 16  # the metadata object itself is level 1
MAX_METADATA_KEYS = 1_000  # keys of every object inside it, counted together
MAX_METADATA_BYTES = 16 * 1024  # as compact JSON in UTF-8
MAX_KEY_CHARS = 256
_QUOTING = "\\\"'"  # backslash, double and single quote
_INT_RANGE = 2 ** 63  # JSON numbers other systems (Milvus, JavaScript's BigInt-free parsers aside) can hold

LIMITS = {  # the table the README shows, by name
    "document id": f"1 to {MAX_ID_BYTES} bytes of UTF-8, no control characters, backslash or quotes (' \"), "
                   "not \".\" or \"..\"",
    "title": f"at most {MAX_TITLE_CHARS:,} characters, no control characters but tab and newline",
    "metadata depth": f"at most {MAX_METADATA_DEPTH} levels of nested objects and lists",
    "metadata keys": f"at most {MAX_METADATA_KEYS:,} keys in all, each 1 to {MAX_KEY_CHARS} characters",
    "metadata size": f"at most {MAX_METADATA_BYTES // 1024} KiB as compact JSON",
    "metadata values": "JSON only: strings, finite numbers (integers within 64 bits), true/false, null, "
                       "lists and objects",
}


def check_document(doc: Document) -> None:
    """Raise :class:`DocumentError` naming the limit ``doc`` breaks, if any."""
    problem = document_problem(doc)
    if problem:
        raise DocumentError(problem)


def check_doc_id(doc_id: Any) -> None:
    """Raise :class:`DocumentError` if ``doc_id`` cannot name a document."""
    problem = id_problem(doc_id)
    if problem:
        raise DocumentError(problem)


def document_problem(doc: Document) -> str | None:
    """Why ``doc`` cannot be stored as it is, or ``None``."""
    return (id_problem(doc.doc_id) or title_problem(doc.title) or metadata_problem(doc.metadata)
            or text_problem(doc.text) or _groups_problem(doc.groups))


def _groups_problem(groups: Any) -> str | None:
    problem = groups_problem(groups)
    return f"groups: {problem}" if problem else None


def id_problem(doc_id: Any) -> str | None:
    if not isinstance(doc_id, str) or not doc_id.strip():
        return "the document id must be a non-empty string"
    if doc_id in {".", ".."}:
        return f"the document id cannot be {doc_id!r}: a URL path cannot name it"
    bad = _bad_character(doc_id, allow="")
    if bad:
        return f"the document id holds {bad}"
    quoting = next((c for c in doc_id if c in _QUOTING), None)
    if quoting:
        # Milvus mishandles them in a string primary key: its filter expressions and pymilvus's paging
        # (backslash, double quote) and its server's upsert (single quote) fail on them.
        return f"the document id holds {quoting!r}: ids may not hold a backslash or a quote"
    if len(doc_id.encode("utf-8")) > MAX_ID_BYTES:
        return f"the document id is longer than the limit of {MAX_ID_BYTES} bytes"
    return None


def title_problem(title: Any) -> str | None:
    if not isinstance(title, str):
        return "the title must be a string"
    if len(title) > MAX_TITLE_CHARS:
        return f"the title has {len(title):,} characters, over the limit of {MAX_TITLE_CHARS:,}"
    bad = _bad_character(title, allow="\t\n\r")
    return f"the title holds {bad}" if bad else None


def text_problem(text: Any, *, what: str = "the text") -> str | None:
    if not isinstance(text, str):
        return f"{what} must be a string"
    problem = _unicode_problem(text)
    return f"{what} {problem}" if problem else None


def _unicode_problem(text: str) -> str | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"holds {_describe(text[exc.start])} at character {exc.start}: not valid Unicode"
    return None


def metadata_problem(metadata: Any) -> str | None:
    """Why ``metadata`` breaks a limit, or ``None``. Walks it without recursion: any depth is safe."""
    if not isinstance(metadata, Mapping):
        return "metadata must be an object"
    keys = elements = 0
    stack: list[tuple[Any, int, str]] = [(metadata, 1, "metadata")]
    while stack:
        value, depth, where = stack.pop()
        elements += 1
        if elements > MAX_METADATA_BYTES:  # each value takes a byte of JSON at least: no need to walk on
            return f"metadata takes more than {MAX_METADATA_BYTES:,} bytes as JSON, over the limit"
        if isinstance(value, Mapping):
            if depth > MAX_METADATA_DEPTH:
                return f"{_short(where)} is nested deeper than the limit of {MAX_METADATA_DEPTH} levels"
            keys += len(value)
            if keys > MAX_METADATA_KEYS:
                return f"metadata has more than the limit of {MAX_METADATA_KEYS:,} keys"
            for key, item in value.items():
                if not isinstance(key, str) or not key:
                    return f"{_short(where)} has a key that is not a non-empty string: {_short(repr(key))}"
                if len(key) > MAX_KEY_CHARS:
                    return f"{_short(where)} has a key longer than the limit of {MAX_KEY_CHARS} characters"
                bad = _bad_character(key, allow="")
                if bad:
                    return f"{_short(where)} has a key that holds {bad}"
                stack.append((item, depth + 1, f"{where}.{key}"))
        elif isinstance(value, (list, tuple)):
            if depth > MAX_METADATA_DEPTH:
                return f"{_short(where)} is nested deeper than the limit of {MAX_METADATA_DEPTH} levels"
            if elements + len(value) > MAX_METADATA_BYTES:
                return f"metadata takes more than {MAX_METADATA_BYTES:,} bytes as JSON, over the limit"
            stack.extend((item, depth + 1, f"{where}[{i}]") for i, item in enumerate(value))
        else:
            problem = _scalar_problem(value)
            if problem:
                return f"{_short(where)} {problem}"
    size = len(json.dumps(metadata, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    if size > MAX_METADATA_BYTES:
        return f"metadata takes {size:,} bytes as JSON, over the limit of {MAX_METADATA_BYTES:,}"
    return None


def _scalar_problem(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if -_INT_RANGE <= value < _INT_RANGE else "is an integer outside the 64-bit range"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"is {value}, which JSON cannot hold"
    if isinstance(value, str):
        return _unicode_problem(value)
    return (f"is of type {type(value).__name__}; metadata holds JSON values only (strings, numbers, true/false, "
            "null, lists and objects)")


def is_control(char: str) -> bool:
    """A control character or an unpaired surrogate: never in an id, a key or a title (but tab/newline)."""
    return unicodedata.category(char) in {"Cc", "Cs"}


def _bad_character(text: str, *, allow: str) -> str | None:
    """A description of the first control character or unpaired surrogate in ``text`` not in ``allow``."""
    for char in text:
        if char not in allow and is_control(char):
            return _describe(char)
    return None


def _describe(char: str) -> str:
    kind = "an unpaired surrogate" if unicodedata.category(char) == "Cs" else "a control character"
    return f"{kind} (U+{ord(char):04X})"


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…"


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def load_json(text: str | bytes) -> Any:
    """Parse JSON strictly: no ``NaN``/``Infinity`` (Python's extension), and a clear ``ValueError``
    (never ``RecursionError``) for nesting too deep to parse."""
    try:
        return json.loads(text, parse_constant=_no_constants)
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc


_CUT = f"[nested deeper than {MAX_METADATA_DEPTH} levels: not shown]"


def shown_metadata(metadata: Any) -> dict[str, Any]:
    """Stored metadata as it can be shown: anything nested past the depth limit (only an index
    written before the limits existed holds such metadata) is replaced by a note saying so."""
    if not isinstance(metadata, Mapping):
        return {}
    return _cut(metadata, 1)  # type: ignore[return-value]


def _cut(value: Any, depth: int) -> Any:
    # Recursion bounded by MAX_METADATA_DEPTH: deeper values are replaced, not visited.
    if isinstance(value, Mapping):
        return _CUT if depth > MAX_METADATA_DEPTH else {key: _cut(item, depth + 1) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return _CUT if depth > MAX_METADATA_DEPTH else [_cut(item, depth + 1) for item in value]
    return value
