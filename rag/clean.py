"""Decide which parts of a text are worth indexing.

Scraped pages end in cookie notices, licence numbers and "Contact us" links. They stay in the
document's text (so offsets keep pointing into the original) but are left out of the ranges the
chunker indexes.
"""
from __future__ import annotations

import re

__all__ = ["indexable_ranges", "is_boilerplate"]

_PARAGRAPH = re.compile(r"\S(?:.*?\S)?(?=\n[ \t]*\n|\s*\Z)", re.DOTALL)
_BOILERPLATE = re.compile(
    r"cookie|privacy (?:policy|statement|notice)|terms (?:of|and conditions)|all rights reserved|copyright|©"
    r"|^\s*i agree\s*$|accept all|subscribe to|sign up for|newsletter|log ?in\b|sign in\b|about us|contact us"
    r"|follow us|share (?:this|on)|advertisement|leaving a message|reported by calling|icp备|许可证"
    r"|^\s*(?:for any inquiries|email)[^.]*@\S+\s*$|^\s*\S+@\S+\.\w+\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_MAX_BOILERPLATE_WORDS = 60


def is_boilerplate(paragraph: str) -> bool:
    """Short paragraphs about cookies, logins, licences, sharing and the like."""
    return len(paragraph.split()) <= _MAX_BOILERPLATE_WORDS and bool(_BOILERPLATE.search(paragraph))


def indexable_ranges(text: str) -> tuple[tuple[int, int], ...]:
    """The ``(start, end)`` ranges of ``text`` to index: every paragraph that is not boilerplate.

    Adjacent kept paragraphs are merged into one range.
    """
    ranges: list[tuple[int, int]] = []
    for match in _PARAGRAPH.finditer(text):
        if is_boilerplate(match.group()):
            continue
        start, end = match.span()
        if ranges and not text[ranges[-1][1]:start].strip():
            ranges[-1] = (ranges[-1][0], end)
        else:
            ranges.append((start, end))
    return tuple(ranges)
