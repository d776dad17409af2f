"""The lexical query: the question's words (stop words left out) for SQLite FTS5, which stems them."""
from __future__ import annotations

import re

__all__ = ["STOPWORDS", "lexical_query"]

# English stop words (those of bm25s, which this index used before FTS5): left out of queries.
STOPWORDS = frozenset("""a an and are as at be but by for if in into is it no not of on or such that the their then
there these they this to was will with""".split())
_QUERY_WORD = re.compile(r"\w+", re.UNICODE)
_MAX_QUERY_TERMS = 32


def lexical_query(question: str) -> str | None:
    """An FTS5 query matching any of the question's words (stop words left out), or None if it has none."""
    words = [w for w in _QUERY_WORD.findall(question.lower()) if w not in STOPWORDS]
    terms = list(dict.fromkeys(words))[:_MAX_QUERY_TERMS]
    return " OR ".join(f'"{w}"' for w in terms) or None
