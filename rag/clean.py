"""Decide which parts of a text are worth indexing.

Scraped pages end in cookie notices, licence numbers and "Contact us" links. They stay in the
document's text (so offsets keep pointing into the original) but are left out of the ranges the
chunker indexes.
"""
from __future__ import annotations

import re

__all__ = ["indexable_ranges", "is_boilerplate"]

# A blank line (whitespace only, \r included) ends a paragraph. Splitting on it is linear; the
# single regex matching whole paragraphs that this replaces took quadratic time on text such as
# "a" + "\n " * n + "b" (minutes for 80 kB), which any upload could trigger.
_BREAK = re.compile(r"\n[ \t\r\f\v]*\n")
_BOILERPLATE = re.compile(
    r"cookie|privacy (?:policy|statement|notice)|terms (?:of|and conditions)|all rights reserved|copyright|©"
    r"|^\s*i agree\s*$|accept all|subscribe to|sign up for|newsletter|log ?in\b|sign in\b|about us|contact us"
    r"|follow us|share (?:this|on)|advertisement|leaving a message|reported by calling|icp备|许可证"
    r"|^\s*(?:for any inquiries|email)[^.@]*@\S+\s*$|^\s*[^\s@]+@[^\s@]+\.\w+\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_MAX_BOILERPLATE_WORDS = 60
# Boilerplate is short; the cap also bounds the regex's work on one huge "word" (e.g. 20 MB of '@').
_MAX_BOILERPLATE_CHARS = 2000


def is_boilerplate(paragraph: str) -> bool:
    """Short paragraphs about cookies, logins, licences, sharing and the like."""
    if len(paragraph) > _MAX_BOILERPLATE_CHARS or len(paragraph.split()) > _MAX_BOILERPLATE_WORDS:
        return False
    return bool(_BOILERPLATE.search(paragraph))


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """The ``(start, end)`` of every paragraph, without its surrounding whitespace."""
    spans = []
    start = 0
    breaks = [(m.start(), m.end()) for m in _BREAK.finditer(text)] + [(len(text), len(text))]
    for end, after in breaks:
        piece = text[start:end]
        content = piece.lstrip()
        if content:
            spans.append((start + len(piece) - len(content), start + len(piece.rstrip())))
        start = after
    return spans


def indexable_ranges(text: str) -> tuple[tuple[int, int], ...]:
    """The ``(start, end)`` ranges of ``text`` to index: every paragraph that is not boilerplate.

    Adjacent kept paragraphs are merged into one range.
    """
    ranges: list[tuple[int, int]] = []
    for start, end in _paragraphs(text):
        if is_boilerplate(text[start:end]):
            continue
        if ranges and not text[ranges[-1][1]:start].strip():
            ranges[-1] = (ranges[-1][0], end)
        else:
            ranges.append((start, end))
    return tuple(ranges)
