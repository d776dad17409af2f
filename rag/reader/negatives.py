"""Unanswerable training pairs made from answerable ones, the two kinds a reader meets in use.

* **answer removed**: the question against its own paragraph with every sentence that holds a gold
  answer taken out. The topic is still there and the answer is not: the adversarial kind SQuAD 2.0
  was written to have, and the commonest way a user's question outruns their documents.
* **retrieval negative**: the question against the paragraph of its own article that BM25 (stop
  words out, Snowball stems: :func:`index.stemmed_terms`) ranks highest among those holding none of
  its answers: what the retriever hands the reader when the answer is elsewhere.

:class:`ArticleRanker` scores with bm25s's IDF (``log(1 + ...)``, always positive), not the service's
:class:`index.LexicalIndex` (FTS5's IDF, near zero for a term in most paragraphs, and Porter stems):
within one article most paragraphs share its subject's terms, and this ranking is the one the shipped
reader's negatives were drawn with, so ``rag train-reader`` reproduces its data.

A negative is kept only when no gold answer's text (case-folded) is left in it, and an
answer-removed paragraph only when at least ``MIN_REMAINING_CHARS`` of it are left.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from index import stemmed_terms
from rag.reader.squad import ReadingExample
from rag.sentences import split_sentences

__all__ = ["answer_removed", "ArticleRanker", "MIN_REMAINING_CHARS"]

MIN_REMAINING_CHARS = 80
_K1, _B = 1.2, 0.75  # bm25's usual k1 and b, as the service's lexical index has them


def _holds_an_answer(context: str, answers: Sequence[tuple[int, str]]) -> bool:
    folded = context.casefold()
    return any(text.casefold() in folded for _, text in answers)


def answer_removed(example: ReadingExample) -> str | None:
    """``example``'s paragraph without the sentences that hold any of its gold answers (joined by a
    space), or ``None`` when too little is left or an answer's text still occurs in what is left."""
    if not example.answers:
        return None
    spans = [(start, start + len(text)) for start, text in example.answers]
    kept = [example.context[s:e] for s, e in split_sentences(example.context)
            if not any(s < a_end and a_start < e for a_start, a_end in spans)]
    remaining = " ".join(part.strip() for part in kept if part.strip())
    if len(remaining) < MIN_REMAINING_CHARS or _holds_an_answer(remaining, example.answers):
        return None
    return remaining


class ArticleRanker:
    """BM25 over one article's paragraphs, to find the one a retriever would wrongly hand the reader."""

    def __init__(self, paragraphs: Sequence[str]) -> None:
        self.paragraphs = list(paragraphs)
        self._terms = [Counter(stemmed_terms(p, fold_accents=True)) for p in self.paragraphs]
        lengths = [sum(t.values()) for t in self._terms]
        mean_length = max(sum(lengths) / len(lengths), 1e-9) if lengths else 1e-9
        self._norms = [_K1 * (1 - _B + _B * length / mean_length) for length in lengths]
        frequency: Counter[str] = Counter()
        for terms in self._terms:
            frequency.update(terms.keys())
        n = len(self.paragraphs)
        self._idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in frequency.items()}

    def ranked(self, question: str) -> list[int]:
        """Paragraph indexes, best BM25 score first (paragraphs sharing no term left out)."""
        query = [t for t in dict.fromkeys(stemmed_terms(question, fold_accents=True)) if t in self._idf]
        scores = []
        for i, (terms, norm) in enumerate(zip(self._terms, self._norms, strict=True)):
            score = sum(self._idf[t] * terms[t] * (_K1 + 1) / (terms[t] + norm) for t in query if t in terms)
            if score > 0:
                scores.append((score, i))
        return [i for _, i in sorted(scores, key=lambda x: -x[0])]

    def negative_for(self, example: ReadingExample) -> str | None:
        """The highest-ranked paragraph other than ``example``'s own that holds none of its answers."""
        for i in self.ranked(example.question):
            paragraph = self.paragraphs[i]
            if paragraph != example.context and not _holds_an_answer(paragraph, example.answers):
                return paragraph
        return None
