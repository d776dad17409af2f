"""Which sentence answers the question: a logistic model over a few cheap, explainable features.

The candidates are the sentences of the top passages. Similarity to the question alone puts a
sentence holding the answer first about two times in three; a reader also looks at how many of the
question's words a sentence has (the rarer ones among the candidates count more, and the words of
the document's title hardly at all), whether it has them in the same order, whether it has the kind
of thing asked for (a number for "how many", a year for "when") and how sure retrieval was of its
passage. Every feature is a regular expression, a set of stemmed words or a number the answerer
already has: no parse. The weights are fitted on SQuAD 2.0 by ``rag fit sentence-ranker``
(article-level cross-validation; the held-out figures are in the README) and ship as JSON.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index import stemmed_terms
from rag.model_file import read_model_file, write_model_file

__all__ = ["FEATURES", "SentenceRanker", "sentence_features", "question_type", "DEFAULT_SENTENCE_MODEL"]

DEFAULT_SENTENCE_MODEL = Path(__file__).with_name("models") / "sentence_ranker.json"

FEATURES = (
    "cosine",  # similarity of the sentence to the question
    "cosine_gap",  # that minus the best candidate's (0 for the most similar)
    "coverage_gap",  # share of the question's words (stemmed, no stop words) in the sentence, each word
                     # weighted by its rarity among the candidates, minus the best candidate's share
    "title_free_coverage",  # share of the question's words not in the document's title that it has
    "bigrams",  # share of the question's adjacent word pairs that are adjacent in the sentence
    "type_match",  # has what the question type wants: a number, a year or date, a name it does not mention
    "fused_gap",  # its passage's fused retrieval score minus the top passage's
    "bias",
)


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop-worded, Snowball-stemmed word tokens: the words two texts share."""
    return stemmed_terms(text)


_TYPE_PATTERNS = (
    ("number", r"\bhow (many|much|long|far|old|large|big|high|tall|often|fast|heavy)\b"
               r"|\bwhat (percentage|percent|number|amount|proportion|fraction)\b"),
    ("date", r"\b(when|what year|which year|what date|what century|what decade|what time|what period|what month)\b"),
    ("person", r"\b(who|whom|whose)\b"),
    ("place", r"\bwhere\b|\b(what|which) (country|city|state|region|place|continent|location|town|area)\b"),
    ("reason", r"\b(why|how)\b"),
    ("what", r"\b(what|which|name)\b"),
)


def question_type(question: str) -> str:
    """The kind of answer a question asks for, from its question words."""
    lowered = question.lower()
    for name, pattern in _TYPE_PATTERNS:
        if re.search(pattern, lowered):
            return name
    return "other"


_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
                     r"forty|fifty|hundred|thousand|million|billion|dozen|half|percent)\b", re.IGNORECASE)
_DATE = re.compile(r"\b(1\d{3}|20\d{2})s?\b|\b\d{1,2}(st|nd|rd|th) century\b|\b(January|February|March|April|May|"
                   r"June|July|August|September|October|November|December|century|decade)\b", re.IGNORECASE)
_NAME = re.compile(r"(?<!^)(?<![.!?] )\b[A-Z][a-z]+")  # a capitalized word not opening the sentence


def _type_match(qtype: str, question_words: set[str], text: str) -> float:
    if qtype == "number":
        return float(bool(_NUMBER.search(text)))
    if qtype == "date":
        return float(bool(_DATE.search(text)))
    if qtype in ("person", "place"):
        # a name the question does not already mention
        return float(any(m.group(0).lower() not in question_words for m in _NAME.finditer(text)))
    return 0.0


def _pairs(words: list[str]) -> set[tuple[str, str]]:
    return set(zip(words, words[1:]))


def sentence_features(question: str, texts: list[str], *, similarity: np.ndarray, fused: np.ndarray,
                      titles: list[str]) -> np.ndarray:
    """The feature rows (``len(texts) x len(FEATURES)``) of one question's candidate sentences.

    Args:
        texts: the candidate sentences.
        similarity: each one's cosine to the question.
        fused: its passage's fused retrieval score.
        titles: its document's title (the question's words found there say little about a sentence).
    """
    n = len(texts)
    rows = np.zeros((n, len(FEATURES)), dtype=np.float32)
    if n == 0:
        return rows
    asked_list = tokenize(question)
    asked = set(asked_list)
    asked_pairs = _pairs(asked_list)
    words = [tokenize(t) for t in texts]
    found = [set(w) & asked for w in words]
    df = Counter(w for f in found for w in f)
    idf = {w: math.log(1.0 + n / (1.0 + df[w])) for w in asked}
    coverage = np.array([sum(idf[w] for w in f) for f in found]) / (sum(idf.values()) or 1.0)
    qtype = question_type(question)
    question_words = {w.lower() for w in re.findall(r"\w+", question)}
    similarity = np.asarray(similarity, dtype=np.float64)
    fused = np.asarray(fused, dtype=np.float64)
    not_in_title: dict[str, set[str]] = {}
    for i, row in enumerate(rows):
        if titles[i] not in not_in_title:
            not_in_title[titles[i]] = asked - set(tokenize(titles[i]))
        free = not_in_title[titles[i]]
        row[:] = [
            similarity[i],
            similarity[i] - similarity.max(),
            coverage[i] - coverage.max(),
            len(found[i] & free) / len(free) if free else 0.0,
            len(_pairs(words[i]) & asked_pairs) / len(asked_pairs) if asked_pairs else 0.0,
            _type_match(qtype, question_words, texts[i]),
            fused[i] - fused.max(),
            1.0,
        ]
    return rows


@dataclass(frozen=True, slots=True)
class SentenceRanker:
    """``score = sum(weight * feature)`` over :data:`FEATURES` (a feature not named weighs 0); higher
    ranks first. ``SentenceRanker({"cosine": 1.0})`` orders by similarity alone."""

    weights: dict[str, float]

    def __post_init__(self) -> None:
        if unknown := set(self.weights) - set(FEATURES):
            raise ValueError(f"unknown sentence features: {sorted(unknown)}")

    @property
    def vector(self) -> np.ndarray:
        return np.array([self.weights.get(name, 0.0) for name in FEATURES], dtype=np.float32)

    def score(self, features: np.ndarray) -> np.ndarray:
        return features @ self.vector

    def order(self, features: np.ndarray) -> np.ndarray:
        """Candidate indices, best first (ties keep the candidates' order)."""
        return np.argsort(-self.score(features), kind="stable")

    def save(self, path: Path, *, about: dict[str, Any] | None = None) -> None:
        write_model_file(path, {"weights": self.weights, "about": about or {}})

    @classmethod
    def load(cls, path: Path = DEFAULT_SENTENCE_MODEL) -> SentenceRanker:
        return cls(weights=read_model_file(path, required=("weights",))["weights"])
