"""A span's edges, mended to what a reader would copy: whole words and closed brackets and quotes.

The reader picks a start and an end token; the tokenizer's pieces can end inside a word ("pharma"
of "pharmacy") and the model may stop one token short of the bracket or quote it opened
("(40 °C", "run `rag delete DOC_ID"). Both are put right on the characters, for every span:

* a span that starts or ends inside a word grows to the whole word (letters and digits; wide CJK
  characters are words of their own, as the tokenizer treats them, so they never grow a span);
* a bracket or quote the span leaves open is closed when its partner is the very next character
  (or, for a closing one left unopened, the character just before).
"""
from __future__ import annotations

import unicodedata

__all__ = ["mend_edges", "MAX_WORD_GROWTH"]

MAX_WORD_GROWTH = 24  # characters a span may grow by at either edge to reach a word's end
_PAIRS = {"(": ")", "[": "]", "{": "}", "“": "”", "«": "»"}
_SYMMETRIC = ('"', "`")


def _in_word(c: str) -> bool:
    return c.isalnum() and unicodedata.east_asian_width(c) not in ("W", "F")


def mend_edges(context: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` grown to whole words and to the partner of a bracket or quote left open."""
    if not 0 <= start < end <= len(context):
        return start, end
    floor, ceiling = max(0, start - MAX_WORD_GROWTH), min(len(context), end + MAX_WORD_GROWTH)
    while start > floor and _in_word(context[start]) and _in_word(context[start - 1]):
        start -= 1
    while end < ceiling and _in_word(context[end - 1]) and _in_word(context[end]):
        end += 1
    span = context[start:end]
    after = context[end] if end < len(context) else ""
    before = context[start - 1] if start > 0 else ""
    for opener, closer in _PAIRS.items():
        if span.count(opener) > span.count(closer) and after == closer:
            end += 1
        elif span.count(closer) > span.count(opener) and before == opener:
            start -= 1
    for quote in _SYMMETRIC:
        if span.count(quote) % 2:
            if after == quote:
                end += 1
            elif before == quote:
                start -= 1
    return start, end
