"""Decide which lines of a document are boilerplate, by structure: never by keywords, never by deleting.

A document's text is always stored whole; boilerplate only becomes :class:`~domain.types.Exclusion`
ranges that the chunker leaves out of the index, each with its reason, so a wrong call is visible
(``rag show --json``, ``GET /documents/{id}``) and reversible (``rag ingest --keep-boilerplate``).

The evidence, none of which a word in a real sentence can trigger:

* ``footer``: the run of lines ending a document in which lines that are not sentences outnumber
  sentences by at least three, holding a contact or legal marker (a URL, an e-mail address, a phone
  or licence number, ©) or a line repeated across documents, after a body that has sentences.
* ``repeated``: a line that is not a sentence, standing next to another such line, and repeated in
  at least three documents of one ingest (site menus) or on three pages of one PDF (running heads).
* ``outside main content``: for HTML, a line that the page's main-content extraction left out and
  that is not a sentence (menus, link lists, buttons).

A line that reads as a sentence is only ever excluded inside a footer: mid-document sentences,
lists and tables stay indexed whatever words they contain.
"""
from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterable, Sequence

from domain.types import Document, Exclusion

__all__ = ["FOOTER", "REPEATED", "OUTSIDE_MAIN_CONTENT", "Line", "lines_of", "is_sentence", "find_exclusions",
           "mark_boilerplate", "merge_exclusions", "indexable_ranges"]

FOOTER = "footer"
REPEATED = "repeated"
OUTSIDE_MAIN_CONTENT = "outside main content"

_LINE = re.compile(r"[^\n]+")
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_LINK = re.compile(r"(?:https?://|www\.)\S+|[^\s@]+@[^\s@]+\.\w+")
_SENTENCE_END = re.compile(r"[.!?。！？…][\"'”’)\]»]*$")
# Contact and legal markers: a URL or e-mail, a phone number, a long registration or licence
# number, a copyright or trademark sign. Symbols and digit shapes, not words.
_MARKER = re.compile(r"(?:https?://|www\.)\S+|[^\s@]+@[^\s@]+\.\w+|\+\d[\d ()-]{6,}\d|\d{6,}|[©®℗]")
_DIGITS = re.compile(r"\d+")

_MIN_FOOTER_SCORE = 3
_MAX_FOOTER_SHARE = 0.5  # a footer is at most half of the document's characters,
_MAX_FOOTER_CHARS = 3000  # and no longer than a long web page's footer
_PAGE_EDGE_LINES = 1  # running heads and page numbers are a page's first or last line
_MIN_REPEATS = 3


@dataclasses.dataclass(frozen=True, slots=True)
class Line:
    """One non-blank line: its ``(start, end)`` in the text, without surrounding whitespace."""

    start: int
    end: int
    text: str
    sentence: bool

    @property
    def key(self) -> str:
        """The line as compared across documents and pages: case, spacing and numbers ignored."""
        return _DIGITS.sub("0", " ".join(self.text.casefold().split()))

    @property
    def has_words(self) -> bool:
        """Whether it holds a word (two letters or a CJK character): "x", "(" or "12" repeat without meaning."""
        return bool(_CJK.search(self.text)) or any(len(w) > 1 for w in _WORD.findall(self.text))


def lines_of(text: str) -> list[Line]:
    """Every non-blank line of ``text`` with its offsets."""
    lines = []
    for m in _LINE.finditer(text):
        raw = m.group()
        stripped = raw.strip()
        if stripped:
            start = m.start() + len(raw) - len(raw.lstrip())
            lines.append(Line(start, start + len(stripped), stripped, is_sentence(stripped)))
    return lines


def is_sentence(line: str) -> bool:
    """Whether a line reads as running text rather than a label, link, number or menu item.

    It needs mostly letters (not links, e-mail addresses, codes or numbers), a lowercase word
    (labels and menus are Title Case) and either a sentence's end after four words or eight words.
    """
    if len(line) > 2000:
        return True  # a line this long is text, whatever it holds
    unlinked = _LINK.sub(" ", line)
    cjk = len(_CJK.findall(unlinked))
    words = _WORD.findall(_CJK.sub(" ", unlinked))
    letters = sum(len(w) for w in words) + cjk
    visible = sum(1 for ch in line if not ch.isspace())
    if not visible or letters / visible < 0.5:
        return False
    n_words = len(words) + cjk / 2
    if not cjk and not any(w.islower() and len(w) > 1 for w in words):
        return False
    ends = bool(_SENTENCE_END.search(line))
    # "also enjoys compactness." is the end of a sentence that a formula or link broke onto its own line.
    continues = n_words >= 2 and ends and line[0].islower()
    return n_words >= 8 or (n_words >= 4 and ends) or continues


def _footer(lines: Sequence[Line], repeated: set[str], n_chars: int) -> list[Line]:
    """The lines of the footer ending ``lines``, or none (see the module's docstring)."""
    best, best_start, score = 0, len(lines), 0
    for i in range(len(lines) - 1, -1, -1):
        score += -1 if lines[i].sentence else 1
        if score >= best:
            best, best_start = score, i
    tail = lines[best_start:]
    if best < _MIN_FOOTER_SCORE or not any(line.sentence for line in lines[:best_start]):
        return []
    size = sum(line.end - line.start for line in tail)
    if size > _MAX_FOOTER_SHARE * n_chars or size > _MAX_FOOTER_CHARS:
        return []
    if not any(_MARKER.search(line.text[:2000]) or line.key in repeated for line in tail):
        return []
    return list(tail)


def _repeated_runs(lines: Sequence[Line], repeated: set[str]) -> list[Line]:
    """Repeated lines that are not sentences, standing next to another line that is not one."""
    out = []
    for i, line in enumerate(lines):
        if line.sentence or line.key not in repeated:
            continue
        neighbours = lines[max(0, i - 1):i] + lines[i + 1:i + 2]
        if any(not n.sentence for n in neighbours):
            out.append(line)
    return out


def _running_heads(doc: Document, lines: Sequence[Line]) -> list[Line]:
    """Lines that are not sentences, open or close a PDF page, and do so the same on at least three pages."""
    if not doc.page_starts or len(doc.page_starts) < _MIN_REPEATS:
        return []
    by_page: dict[int, list[Line]] = {}
    for line in lines:
        by_page.setdefault(doc.page_of(line.start) or 1, []).append(line)
    edges = [line for on_page in by_page.values()
             for line in {*on_page[:_PAGE_EDGE_LINES], *on_page[-_PAGE_EDGE_LINES:]} if not line.sentence]
    # A page number alone ("7") counts: on three pages' edges it is a running foot, not content.
    pages = Counter(line.key for line in edges)
    return [line for line in edges if pages[line.key] >= _MIN_REPEATS]


def find_exclusions(doc: Document, *, repeated: set[str] = frozenset(),
                    lines: list[Line] | None = None) -> tuple[Exclusion, ...]:
    """``doc``'s own exclusions (those it already carries, such as HTML's) plus the structural ones.

    ``repeated`` holds the keys of lines seen in several documents of the collection; ``lines`` are
    ``lines_of(doc.text)`` when the caller has them already.
    """
    lines = lines_of(doc.text) if lines is None else lines
    n_chars = sum(line.end - line.start for line in lines)
    found = [Exclusion(line.start, line.end, REPEATED)
             for line in [*_repeated_runs(lines, repeated), *_running_heads(doc, lines)]]
    found += [Exclusion(line.start, line.end, FOOTER) for line in _footer(lines, repeated, n_chars)]
    return merge_exclusions([*doc.excluded, *found], doc.text)


def merge_exclusions(exclusions: Iterable[Exclusion], text: str) -> tuple[Exclusion, ...]:
    """Sorted, without overlaps; neighbours with the same reason and only whitespace between them are joined."""
    merged: list[Exclusion] = []
    for ex in sorted(exclusions, key=lambda e: (e.start, e.end)):
        if merged and ex.start < merged[-1].end:
            last = merged[-1]
            if ex.end > last.end:  # overlapping: the same reason grows the range, another adds the rest
                merged[-1:] = ([Exclusion(last.start, ex.end, ex.reason)] if ex.reason == last.reason
                               else [last, Exclusion(last.end, ex.end, ex.reason)])
            continue
        if merged and merged[-1].reason == ex.reason and not text[merged[-1].end:ex.start].strip():
            merged[-1] = Exclusion(merged[-1].start, ex.end, ex.reason)
        else:
            merged.append(ex)
    return tuple(merged)


def mark_boilerplate(docs: Sequence[Document]) -> list[Document]:
    """``docs`` with their boilerplate marked, using lines repeated across them as evidence.

    A document is never excluded whole: one that would have nothing left is indexed entirely.
    """
    per_doc = [lines_of(doc.text) for doc in docs]
    seen_in = Counter(key for lines in per_doc
                      for key in {line.key for line in lines if not line.sentence and line.has_words})
    repeated = {key for key, n in seen_in.items() if n >= _MIN_REPEATS}
    marked = []
    for doc, lines in zip(docs, per_doc, strict=True):
        doc = dataclasses.replace(doc, excluded=find_exclusions(doc, repeated=repeated, lines=lines))
        marked.append(doc if indexable_ranges(doc) else dataclasses.replace(doc, excluded=()))
    return marked


def indexable_ranges(doc: Document) -> tuple[tuple[int, int], ...]:
    """The ``(start, end)`` ranges of ``doc.text`` outside its exclusions, without blank edges."""
    ranges = []
    start = 0
    for ex in [*doc.excluded, Exclusion(len(doc.text), len(doc.text), "")]:
        piece = doc.text[start:ex.start]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            ranges.append((start + lead, start + len(piece.rstrip())))
        start = max(start, ex.end)
    return tuple(ranges)
