"""Turn files (or uploaded bytes) into :class:`~rag.types.Document` objects.

Supported: ``.txt``, ``.md``, ``.html``/``.htm``, ``.pdf``, ``.docx``, ``.json`` and ``.jsonl``
records (``{"id"?, "title"?, "text", "metadata"?}``). A document's text is everything a reader of
the file sees; boilerplate is marked later (:mod:`rag.boilerplate`), never cut out here. A file that cannot be loaded raises
:class:`~rag.errors.DocumentError` whose message is the reason; a bad record inside a JSON file
is reported on its own and the other records still load.
"""
from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import logging
import os
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from rag.boilerplate import OUTSIDE_MAIN_CONTENT, is_sentence, merge_exclusions
from rag.errors import DocumentError, UnsupportedFormatError
from rag.types import Document, Exclusion, SkippedFile

__all__ = ["SUPPORTED_SUFFIXES", "MAX_FILE_BYTES", "LoadResult", "iter_files", "load_file", "load_bytes",
           "record_to_document", "decode_text", "path_doc_id"]

logger = logging.getLogger(__name__)

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
    return [_document(doc_id, text, source, title or filename)], []


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
    page = _visible_text(html)
    if not page.text.strip():
        raise DocumentError("no text in HTML")
    return _document(doc_id, page.text, source, _clean_title(page.title) or _clean_title(page.heading) or filename,
                     excluded=_outside_main_content(html, page, source))


# Above this much work (lines to look up × main-content characters) lines are matched whole only.
_MAX_SUBSTRING_WORK = 200_000_000
_MIN_LINK_SHARE = 0.5


def _outside_main_content(html: str, page: _Page, source: str) -> tuple[Exclusion, ...]:
    """The page's chrome (``<nav>``, ``<footer>``, ``<aside>``), and lines that are mostly link text,
    not sentences, and left out by trafilatura's main-content extraction (menus, link lists, tables
    of contents). Headings, code and definitions outside what trafilatura keeps stay indexed."""
    import trafilatura  # heavy: imported only when an HTML file shows up

    excluded = [Exclusion(line.start, line.end, OUTSIDE_MAIN_CONTENT) for line in page.lines if line.chrome]
    links = [line for line in page.lines if not line.chrome and line.link_share >= _MIN_LINK_SHARE
             and not is_sentence(page.text[line.start:line.end])]
    try:
        main = trafilatura.extract(html, include_comments=False, include_tables=True, favor_recall=True,
                                   deduplicate=False) if links else None
    except Exception as exc:  # noqa: BLE001 - a third-party parser on untrusted input: then it decides nothing
        logger.info("%s: trafilatura failed (%s); only the page's chrome is excluded", source, exc)
        main = None
    if main and main.strip():  # lxml (under trafilatura) drops everything nested deeper than 256 elements
        main_lines = {" ".join(line.split()) for line in main.splitlines()}
        main_joined = "\n".join(main_lines)
        texts = [page.text[line.start:line.end] for line in links]
        outside = [(line, text) for line, text in zip(links, texts, strict=True) if text not in main_lines]
        if len(outside) * len(main_joined) <= _MAX_SUBSTRING_WORK:
            outside = [(line, text) for line, text in outside if text not in main_joined]
        excluded += [Exclusion(line.start, line.end, OUTSIDE_MAIN_CONTENT) for line, _ in outside]
    return merge_exclusions(excluded, page.text)


class _PlainText(HTMLParser):
    """Visible text of any HTML in pieces marked as page chrome and as link text: linear time, no depth limit."""

    _HIDDEN = frozenset({"script", "style", "noscript", "template", "head", "svg", "object"})
    _CHROME = frozenset({"nav", "footer", "aside"})  # the page's navigation, footer and sidebars
    _HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
    _BLOCKS = frozenset({"p", "div", "br", "li", "tr", "td", "th", "section", "article", "blockquote", "pre",
                         "table", "ul", "ol", "dd", "dt", "header", "hr", "caption", "figcaption", "main", "form",
                         "address", "dl", "fieldset", "details", "summary"}) | _HEADINGS | _CHROME

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[tuple[str, bool, bool]] = []  # (text, inside page chrome, inside a link)
        self.title: list[str] = []
        self.heading: list[str] | None = None  # the first heading's text, once it starts
        self._hidden = 0
        self._chrome = 0
        self._links = 0
        self._pre = 0
        self._in_title = False
        self._in_heading = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in self._HIDDEN:
            self._hidden += 1
        elif tag == "a":
            self._links += 1
        elif tag in self._BLOCKS:
            self.parts.append(("\n", False, False))
            self._pre += tag == "pre"
            self._chrome += tag in self._CHROME
            if tag in self._HEADINGS and self.heading is None and not self._hidden:
                self.heading, self._in_heading = [], True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag == "a":
            self._links = max(0, self._links - 1)
        elif tag in self._BLOCKS:
            self.parts.append(("\n", False, False))
            self._pre = max(0, self._pre - (tag == "pre"))
            self._chrome = max(0, self._chrome - (tag in self._CHROME))
            if tag in self._HEADINGS:
                self._in_heading = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif not self._hidden:
            # Outside <pre>, a line break in the source is a space, as a browser shows it.
            text = data if self._pre else _SPACES.sub(" ", data)
            self.parts.append((text, self._chrome > 0, self._links > 0))
            if self._in_heading and self.heading is not None:
                self.heading.append(data)


_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class _PageLine:
    start: int
    end: int
    chrome: bool  # all of it inside <nav>, <footer> or <aside>
    link_share: float  # the share of its characters that are link text


@dataclass(frozen=True, slots=True)
class _Page:
    text: str  # the visible text, blocks separated by blank lines
    lines: list[_PageLine]
    title: str | None
    heading: str | None  # the first heading


def _visible_text(html: str) -> _Page:
    parser = _PlainText()
    parser.feed(html)
    parser.close()
    raw: list[list[tuple[str, bool, bool]]] = [[]]
    for piece, chrome, link in parser.parts:
        for n, segment in enumerate(piece.split("\n")):
            if n:
                raw.append([])
            raw[-1].append((segment, chrome, link))
    out: list[str] = []
    lines: list[_PageLine] = []
    offset = 0
    for pieces in raw:
        line = " ".join("".join(piece for piece, _, _ in pieces).split())
        if not line:
            continue
        if out:
            offset += 2  # the blank line between blocks
        visible = sum(len(piece.strip()) for piece, _, _ in pieces) or 1
        chrome = all(chrome for piece, chrome, _ in pieces if piece.strip())
        linked = sum(len(piece.strip()) for piece, _, link in pieces if link)
        lines.append(_PageLine(offset, offset + len(line), chrome, linked / visible))
        out.append(line)
        offset += len(line)
    heading = " ".join("".join(parser.heading or []).split()) or None
    return _Page("\n\n".join(out), lines, " ".join("".join(parser.title).split()) or None, heading)


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
    return _document(doc_id, "\n\n".join(parts), source, title or filename, page_starts=tuple(starts))


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
    return _document(doc_id, text, source, (title or "").strip() or heading or filename)


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
    """A ``{"id"?, "title"?, "text", "metadata"?}`` record as a document."""
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
    return _document(str(record_id), text, source, title, metadata=metadata)


_TOO_DEEP = "invalid JSON: nested too deeply"


def _load_records(text: str, *, jsonl: bool, source: str, doc_id: str) -> LoadResult:
    if jsonl:
        lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
        raw: list[tuple[str, Any]] = []
        skipped: list[SkippedFile] = []
        for n, line in lines:
            try:
                raw.append((f"line {n}", json.loads(line)))
            except json.JSONDecodeError as exc:
                skipped.append(SkippedFile(f"{source}:{n}", f"invalid JSON: {exc.msg}"))
            except RecursionError:
                skipped.append(SkippedFile(f"{source}:{n}", _TOO_DEEP))
    else:
        try:
            body = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DocumentError(f"invalid JSON: {exc.msg} at line {exc.lineno}") from exc
        except RecursionError as exc:
            raise DocumentError(_TOO_DEEP) from exc
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
