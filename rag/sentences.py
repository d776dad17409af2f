"""Sentence boundaries as character offsets.

A rule-based splitter: fast, deterministic and offset-exact, which is what citations need.
Blank lines, headings and list items always end a sentence; ``.``, ``!``, ``?`` (and their CJK
forms) end one when the next word starts like a sentence and the word before is not a known
abbreviation or an initial.
"""
from __future__ import annotations

import re

__all__ = ["split_sentences"]

_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st mt ft vs etc inc ltd co corp dept univ gen col lt sgt capt gov sen rep "
    "jan feb mar apr jun jul aug sep sept oct nov dec mon tue wed thu fri sat sun "
    "no nos vol fig figs eq approx est ca cf al e.g i.e u.s u.k u.n a.m p.m".split()
)
# A candidate end: terminal punctuation, closing quotes/brackets, then space and a sentence start.
_END = re.compile(r"""([.!?]+|[。！？]+)["'”’)\]]*(?=\s+["'“‘(\[]?[A-Z0-9À-Ý]|\s*$)|[。！？]+""")
_BLOCK_BREAK = re.compile(r"\n[ \t]*\n|\n(?=[ \t]*(?:[#>*+-]|\d+[.)])\s)")
_LINE = re.compile(r"\n")


def _is_abbreviation(text: str, end: int) -> bool:
    """Is the period ending at ``end`` part of an abbreviation or an initial ("J.", "U.S.")?"""
    start = end
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "."):
        start -= 1
    word = text[start:end].rstrip(".").lower()
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def _blocks(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split at blank lines, list items, and single newlines after a short (heading-like) line."""
    cuts = [start]
    for m in _BLOCK_BREAK.finditer(text, start, end):
        cuts.append(m.end())
    for m in _LINE.finditer(text, start, end):
        line_start = text.rfind("\n", start, m.start()) + 1
        line = text[max(line_start, start):m.start()].strip()
        if line and (len(line) < 60 and not line.endswith((",", ";", ":")) or line[-1] in ".!?\"”"):
            cuts.append(m.end())
    cuts = sorted(set(cuts)) + [end]
    return [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """The sentences of ``text[start:end]`` as ``(start, end)`` offsets into ``text``, whitespace trimmed."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    for block_start, block_end in _blocks(text, start, end):
        sentence_start = block_start
        for m in _END.finditer(text, block_start, block_end):
            punct_end = m.end(1) if m.group(1) else m.end()
            if text[punct_end - 1] == "." and _is_abbreviation(text, punct_end):
                continue
            spans.append((sentence_start, m.end()))
            sentence_start = m.end()
        spans.append((sentence_start, block_end))
    trimmed = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            trimmed.append((a, b))
    return trimmed
