"""Turn files (or uploaded bytes) into :class:`~domain.types.Document` objects.

Supported: ``.txt``, ``.md``, ``.html``/``.htm``, ``.pdf``, ``.docx``, ``.json`` and ``.jsonl``
records (``{"id"?, "title"?, "text", "metadata"?}``). A document's text is everything a reader of
the file sees; boilerplate is marked later (:mod:`rag.boilerplate`), never cut out here. A file that cannot be loaded raises
:class:`~domain.errors.DocumentError` whose message is the reason; a bad record inside a JSON file
is reported on its own and the other records still load.
"""
from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import io
import json
import os
import re
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from domain.access import FilterError, parse_groups
from domain.errors import DocumentError, UnsupportedFormatError
from domain.limits import MAX_TITLE_CHARS, check_document, is_control, load_json
from domain.types import Document, Exclusion, SkippedFile
from rag.html_page import outside_main_content, read_page

__all__ = ["SUPPORTED_SUFFIXES", "MAX_FILE_BYTES", "LoadResult", "iter_files", "load_file", "load_bytes",
           "record_to_document", "decode_text", "path_doc_id"]

SUPPORTED_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".json", ".jsonl"})
LoadResult = tuple[list[Document], list[SkippedFile]]
# One document is held whole in memory (citations index into its full text) and costs about a
# minute of embedding per MB with the bundled model: larger files are refused, not half-read.
# The same default as the HTTP API's upload limit (RAG_MAX_UPLOAD_MB).
MAX_FILE_BYTES = 20 * 1024 * 1024


def path_doc_id(path: Path) -> str:
    """A stable id for a file: the same file gets the same id from any working directory."""
    return hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]


def iter_files(paths: Iterable[str | os.PathLike[str]], *, include: list[str] | None = None,
               exclude: list[str] | None = None) -> Iterator[Path]:
    """Every file under ``paths`` (recursively, sorted) whose path matches ``include`` and not ``exclude``.

    Globs match the path relative to the directory given, or the file name (``*.md``, ``drafts/*``).
    Paths that do not exist raise :class:`DocumentError`.
    """
    for given in paths:
        root = Path(given)
        if root.is_file():
            candidates = [(root, Path(root.name))]
        elif root.is_dir():
            candidates = [
                (p, p.relative_to(root)) for p in sorted(root.rglob("*"))
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
            ]
        else:
            raise DocumentError(f"{root}: no such file or directory")
        for path, relative in candidates:
            names = (relative.as_posix(), path.name)
            if include and not any(fnmatch.fnmatch(n, g) for g in include for n in names):
                continue
            if exclude and any(fnmatch.fnmatch(n, g) for g in exclude for n in names):
                continue
            yield path


def load_file(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> LoadResult:
    """Load one file; the document's ``source`` is the path as given.

    Files over ``max_bytes`` are refused without being read into memory.
    """
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise UnsupportedFormatError(f"unsupported file type {path.suffix or '(none)'!r}")
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            # Never more than one byte past the limit: sizes from stat() lie for pipes and /proc files.
            data = f.read(max_bytes + 1) if size <= max_bytes else b""
            size = max(size, len(data))
    except OSError as exc:
        raise DocumentError(f"cannot read file: {exc.strerror or exc}") from exc
    if size > max_bytes:
        raise DocumentError(f"file too large: {_megabytes(size)} MB, over the limit of {_megabytes(max_bytes)} MB "
                            "for one document; split it into smaller files")
    return load_bytes(data, filename=path.name, source=str(path), doc_id=path_doc_id(path))


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.1f}".removesuffix(".0")


def load_bytes(data: bytes, *, filename: str, source: str, doc_id: str) -> LoadResult:
    """Load a file's bytes, dispatching on the suffix of ``filename``."""
    suffix = Path(filename).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedFormatError(f"unsupported file type {suffix or '(none)'!r}")
    if not data.strip():
        raise DocumentError("empty file")
    if suffix == ".pdf":
        return [_load_pdf(data, source=source, doc_id=doc_id, filename=filename)], []
    if suffix == ".docx":
        return [_load_docx(data, source=source, doc_id=doc_id, filename=filename)], []
    text = decode_text(data)
    if suffix in {".html", ".htm"}:
        return [_load_html(text, source=source, doc_id=doc_id, filename=filename)], []
    if suffix in {".json", ".jsonl"}:
        return _load_records(text, jsonl=suffix == ".jsonl", source=source, doc_id=doc_id)
    title = _markdown_title(text) if suffix in {".md", ".markdown"} else _headline(text)
    return [_document(doc_id, text, source, _derived_title(title or filename))], []


def decode_text(data: bytes) -> str:
    """Decode UTF-8 (with or without BOM) or BOM-marked UTF-16/32; anything else is refused."""
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
                       (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as exc:
                raise DocumentError(f"invalid {codec.upper()} text at byte {exc.start}") from exc
    if b"\x00" in data[:8192]:
        raise DocumentError("binary content (NUL bytes), not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"not valid UTF-8 text (bad byte at offset {exc.start}); re-save the file as UTF-8") from exc


def _document(doc_id: str, text: str, source: str, title: str, *, metadata: dict[str, Any] | None = None,
              page_starts: tuple[int, ...] | None = None, excluded: tuple[Exclusion, ...] = ()) -> Document:
    if not text.strip():
        raise DocumentError("no text")
    return Document(doc_id=doc_id, text=text, source=source, title=title.strip() or source, metadata=metadata or {},
                    page_starts=page_starts, excluded=excluded)


def _derived_title(title: str) -> str:
    """A title found in a file (a heading, ``<title>``, PDF or Word properties, the file name) made
    fit to store: control characters become spaces and an overlong one is cut, since the file itself
    is fine and is not refused for what its properties hold."""
    clean = " ".join("".join(" " if is_control(c) else c for c in title).split())
    return clean if len(clean) <= MAX_TITLE_CHARS else clean[:MAX_TITLE_CHARS - 1] + "…"


_MAX_TITLE_WORDS = 20
_MAX_TITLE_CHARS = 150


def _headline(text: str) -> str | None:
    """A headline-like line among the first three: 3 to 20 words, no final full stop, not a sentence run-on.

    The first lines of a scraped page are often a site name ("iChongqing Title") and then the
    headline; two-word lines are passed over for that reason.
    """
    for line in [line for line in text.splitlines() if line.strip()][:3]:
        line = " ".join(line.split())
        words = line.split()
        if (3 <= len(words) <= _MAX_TITLE_WORDS and len(line) <= _MAX_TITLE_CHARS and not line.endswith(".")
                and any(ch.isalpha() for ch in line)):
            return line
    return None


def _first_line(text: str) -> str | None:
    """The first non-blank line, if it is short enough to be a title."""
    for line in text.splitlines():
        line = " ".join(line.split())
        if line:
            return line if len(line) <= _MAX_TITLE_CHARS else None
    return None


_PERMALINK = re.compile(r"¶|^#+\s+|\s+#+$|^#+$")


def _clean_title(title: str | None) -> str | None:
    """A heading or ``<title>`` without permalink signs (``Abstract¶``, ``Install #``)."""
    if not title:
        return None
    return " ".join(_PERMALINK.sub(" ", " ".join(title.split())).split()) or None


def _markdown_title(text: str) -> str | None:
    for line in text.splitlines()[:50]:
        if line.startswith("# "):
            return line[2:].strip()
    return None


def _load_html(html: str, *, source: str, doc_id: str, filename: str) -> Document:
    """The page's whole visible text, block by block; what is outside its main content is excluded."""
    page = read_page(html)
    if not page.text.strip():
        raise DocumentError("no text in HTML")
    return _document(doc_id, page.text, source,
                     _derived_title(_clean_title(page.title) or _clean_title(page.heading) or filename),
                     excluded=outside_main_content(html, page, source))


def _load_pdf(data: bytes, *, source: str, doc_id: str, filename: str) -> Document:
    import pypdf
    from pypdf.errors import PyPdfError

    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError("encrypted PDF")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = reader.metadata.title if reader.metadata else None
    except DocumentError:
        raise
    except (PyPdfError, ValueError, TypeError, KeyError, AttributeError, OSError, RecursionError) as exc:
        raise DocumentError(f"unreadable PDF: {exc}") from exc
    if not any(p.strip() for p in pages):
        raise DocumentError("PDF has no text layer (scanned images need OCR first)")
    starts, parts, offset = [], [], 0
    for page in pages:
        starts.append(offset)
        parts.append(page)
        offset += len(page) + 2
    first_page_line = _first_line(next(page for page in pages if page.strip()))
    title = " ".join(str(title).split()) if title and str(title).strip() else first_page_line
    return _document(doc_id, "\n\n".join(parts), source, _derived_title(title or filename),
                     page_starts=tuple(starts))


def _load_docx(data: bytes, *, source: str, doc_id: str, filename: str) -> Document:
    """Paragraphs, headings and table cells in document order; the title property or first heading is the title."""
    if data.startswith(b"\xd0\xcf\x11\xe0"):  # an OLE2 container: Word encrypts .docx files into one
        raise DocumentError("password-protected (or legacy binary .doc) Word file; save it as an unprotected .docx")
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from lxml import etree

    try:
        word = docx.Document(io.BytesIO(data))
        blocks, heading = _docx_blocks(word)
        title = word.core_properties.title
    except (PackageNotFoundError, KeyError, ValueError, AttributeError, OSError, zipfile.BadZipFile,
            etree.XMLSyntaxError) as exc:
        raise DocumentError(f"unreadable Word file: {exc}") from exc
    text = "\n\n".join(blocks)
    if not text.strip():
        raise DocumentError("no text in Word file")
    return _document(doc_id, text, source, _derived_title((title or "").strip() or heading or filename))


def _docx_blocks(word: Any) -> tuple[list[str], str | None]:
    """The text of each paragraph and table cell (in order, tables row by row), and the first heading."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    blocks: list[str] = []
    heading: str | None = None

    def visit(container: Any) -> None:
        nonlocal heading
        for item in container.iter_inner_content():
            if isinstance(item, Paragraph):
                text = item.text.strip()
                if not text:
                    continue
                blocks.append(text)
                style = (item.style.name if item.style is not None else "") or ""
                if heading is None and (style.startswith("Heading") or style == "Title"):
                    heading = " ".join(text.split())
            elif isinstance(item, Table):
                cells = [cell for row in item.rows for cell in row.cells]
                seen: set[int] = set()
                for cell in cells:  # a merged cell is listed once per grid cell it spans: read it once
                    if id(cell._tc) not in seen:
                        seen.add(id(cell._tc))
                        visit(cell)

    visit(word)
    return blocks, heading


def record_to_document(record: Any, *, default_id: str, source: str) -> Document:
    """A ``{"id"?, "title"?, "text", "metadata"?, "groups"?}`` record as a document."""
    if not isinstance(record, dict):
        raise DocumentError("a record must be a JSON object with a \"text\" field")
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise DocumentError("record has no non-empty \"text\" string")
    record_id = record.get("id", default_id)
    if not isinstance(record_id, (str, int)) or not str(record_id).strip():
        raise DocumentError("record \"id\" must be a non-empty string")
    title = record.get("title") or str(record_id)
    metadata = record.get("metadata") or {}
    if not isinstance(title, str) or not isinstance(metadata, dict):
        raise DocumentError("record \"title\" must be a string and \"metadata\" an object")
    doc = _document(str(record_id), text, source, title, metadata=metadata)
    if record.get("groups") is not None:  # absent: the default, public
        try:
            doc = dataclasses.replace(doc, groups=parse_groups(record["groups"]))
        except FilterError as exc:
            raise DocumentError(f"record \"groups\": {exc}") from exc
    check_document(doc)
    return doc


def _json_error(exc: ValueError) -> str:
    detail = f"{exc.msg} at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else str(exc)
    return f"invalid JSON: {detail}"


def _load_records(text: str, *, jsonl: bool, source: str, doc_id: str) -> LoadResult:
    if jsonl:
        lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
        raw: list[tuple[str, Any]] = []
        skipped: list[SkippedFile] = []
        for n, line in lines:
            try:
                raw.append((f"line {n}", load_json(line)))
            except ValueError as exc:
                skipped.append(SkippedFile(f"{source}:{n}", _json_error(exc)))
    else:
        try:
            body = load_json(text)
        except ValueError as exc:
            raise DocumentError(_json_error(exc)) from exc
        items = body if isinstance(body, list) else [body]
        raw = [(f"record {i}", item) for i, item in enumerate(items)]
        skipped = []
    docs = []
    for i, (where, record) in enumerate(raw):
        try:
            docs.append(record_to_document(record, default_id=f"{doc_id}-{i}", source=source))
        except DocumentError as exc:
            skipped.append(SkippedFile(f"{source} ({where})", str(exc)))
    if not docs and not skipped:
        raise DocumentError("no records")
    return docs, skipped
