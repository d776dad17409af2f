"""Span edges mended to whole words and closed brackets and quotes."""
from __future__ import annotations

import pytest

from rag.reader.span_edges import MAX_WORD_GROWTH, mend_edges


def mended(context: str, piece: str) -> str:
    start = context.index(piece)
    s, e = mend_edges(context, start, start + len(piece))
    return context[s:e]


@pytest.mark.parametrize(("context", "piece", "expected"), [
    ("The word pharmacy is derived from Greek.", "pharma", "pharmacy"),
    ("In the laboratory, biostratigraphers analyze rock.", "biostratigrapher", "biostratigraphers"),
    ("The highest recorded was 104 °F (40 °C) on July 11.", "104 °F (40 °C", "104 °F (40 °C)"),
    ("To remove it, run `rag delete DOC_ID` and wait.", "run `rag delete DOC_ID", "run `rag delete DOC_ID`"),
    ('He called the criticism a "silly argument" and left.', 'a "silly argument', 'a "silly argument"'),
    ('She said it was silly argument" there.', 'argument"', 'argument"'),  # no partner next to it: as it was
    ("Workers (mechanization and automation) raise output.", "mechanization and automation)",
     "(mechanization and automation)"),
    ("Southwest University of Political Science & Law", "Southwest", "Southwest"),  # already whole words
    ("On Nov. 5-10, 2024 the expo opens.", "Nov. 5-10, 2024", "Nov. 5-10, 2024"),
    ("北京是中国的首都。", "北京", "北京"),  # wide characters are words of their own
])
def test_spans_are_mended(context: str, piece: str, expected: str) -> None:
    assert mended(context, piece) == expected


def test_growth_is_bounded_and_bad_ranges_are_left_alone() -> None:
    long_word = "x" * 100
    s, e = mend_edges(long_word, 50, 52)
    assert s == 50 - MAX_WORD_GROWTH and e == 52 + MAX_WORD_GROWTH
    assert mend_edges("abc", 2, 2) == (2, 2) and mend_edges("abc", 0, 9) == (0, 9)
