"""Words for lexical search on engines whose own analyzer we do not trust to stem (Milvus), and the
stop words every engine leaves out. (The local engine's analysis is :func:`index.lexical_index.analyze`.)

milvus-lite's analyzer ignores a ``stemmer`` filter, and a server's analyzers differ by version, so
the Milvus engine indexes and asks with :func:`stemmed_terms` and lets its analyzer only split on
spaces: the same terms on milvus-lite and on any server.
"""
from __future__ import annotations

import re
import threading
import unicodedata

__all__ = ["STOPWORDS", "MAX_QUERY_TERMS", "stemmed_terms", "lexical_text", "unaccented", "stemmer"]

# English stop words (those of bm25s, which this index used before FTS5): never searched for.
STOPWORDS = frozenset("""a an and are as at be but by for if in into is it no not of on or such that the their then
there these they this to was will with""".split())
_WORD = re.compile(r"\w+", re.UNICODE)
MAX_QUERY_TERMS = 32  # a question's distinct terms searched for, at most
_local = threading.local()  # a PyStemmer stemmer is not to be shared between threads


def unaccented(text: str) -> str:
    """``text`` with its accents taken off (NFKD, combining marks dropped)."""
    if text.isascii():
        return text
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def stemmer(algorithm: str = "english"):  # noqa: ANN201 - a PyStemmer Stemmer
    """This thread's PyStemmer stemmer for ``algorithm`` ("english": Snowball; "porter": Porter's original)."""
    found = getattr(_local, algorithm, None)
    if found is None:
        import Stemmer

        found = Stemmer.Stemmer(algorithm)
        setattr(_local, algorithm, found)
    return found


def stemmed_terms(text: str, *, fold_accents: bool = False) -> list[str]:
    """Lower-cased word tokens, stop words left out, Snowball-stemmed (optionally accents folded first)."""
    lowered = unaccented(text.lower()) if fold_accents else text.lower()
    return stemmer().stemWords([w for w in _WORD.findall(lowered) if w not in STOPWORDS])


def lexical_text(text: str, *, query: bool = False) -> str:
    """``text`` as space-separated stemmed terms, accents folded; a query keeps each term once (a term
    scores once however often the question repeats it)."""
    terms = stemmed_terms(text, fold_accents=True)
    if query:
        terms = list(dict.fromkeys(terms))[:MAX_QUERY_TERMS]
    return " ".join(terms)
