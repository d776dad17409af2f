"""An HTML page's whole visible text, and which of its lines lie outside its main content.

The text is every block a reader of the page sees (linear time, no nesting limit: lxml under
trafilatura drops everything below 256 levels). Boilerplate is not cut out of it: the page's
``<nav>``, ``<footer>`` and ``<aside>``, and lines that are mostly link text, not sentences and
left out by trafilatura's main-content extraction, become exclusions (:mod:`rag.boilerplate`).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from html.parser import HTMLParser

from domain.types import Exclusion
from rag.boilerplate import OUTSIDE_MAIN_CONTENT, is_sentence, merge_exclusions

__all__ = ["Page", "PageLine", "read_page", "outside_main_content"]

logger = logging.getLogger(__name__)


# Above this much work (lines to look up × main-content characters) lines are matched whole only.
_MAX_SUBSTRING_WORK = 200_000_000
_MIN_LINK_SHARE = 0.5


def outside_main_content(html: str, page: Page, source: str) -> tuple[Exclusion, ...]:
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
class PageLine:
    start: int
    end: int
    chrome: bool  # all of it inside <nav>, <footer> or <aside>
    link_share: float  # the share of its characters that are link text


@dataclass(frozen=True, slots=True)
class Page:
    text: str  # the visible text, blocks separated by blank lines
    lines: list[PageLine]
    title: str | None
    heading: str | None  # the first heading


def read_page(html: str) -> Page:
    """The page's visible text (blocks separated by blank lines), its lines, ``<title>`` and first heading."""
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
    lines: list[PageLine] = []
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
        lines.append(PageLine(offset, offset + len(line), chrome, linked / visible))
        out.append(line)
        offset += len(line)
    heading = " ".join("".join(parser.heading or []).split()) or None
    return Page("\n\n".join(out), lines, " ".join("".join(parser.title).split()) or None, heading)
