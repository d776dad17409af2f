"""The answerer with a fake reader passed in: windows, the choice across passages, citations, abstention."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index import StoredChunk
from rag.answer import Answerer, NoAnswerModel
from rag.reader.features import SpanGuess
from rag.sentence_rank import SentenceRanker
from rag.sentences import split_sentences

DOC_A = ("The Rhine rises in the Alps. It flows north through Basel. Barges carry coal on it. "
         "Its length is about 1,230 kilometres. Cologne lies on its banks.")
DOC_B = "Oxygen was discovered in 1774. Priestley called it dephlogisticated air. It is reactive."


class FakeReader:
    """Proposes the given phrases wherever they occur, with the given logits; no answer elsewhere."""

    def __init__(self, phrases: dict[str, float], directory: Path, null: float = 0.0) -> None:
        self.phrases = phrases
        self.directory = directory
        self.null = null
        self.contexts: list[str] = []

    def read(self, question: str, contexts: list[str], *, top_k: int = 3):
        self.contexts.extend(contexts)
        spans = []
        for pair, context in enumerate(contexts):
            found = [SpanGuess(pair, context.index(p), context.index(p) + len(p), score, self.null)
                     for p, score in self.phrases.items() if p in context]
            spans.append(sorted(found, key=lambda g: -g.score)[:top_k])
        return spans, np.full(len(contexts), self.null)


def chunk(chunk_id: int, doc_id: str, text: str, start: int = 0) -> StoredChunk:
    return StoredChunk(chunk_id, doc_id, 0, start, start + len(text), text, doc_id.title(), f"{doc_id}.txt", None)


def sentences_of(*chunks: StoredChunk, dim: int = 4) -> dict:
    rng = np.random.default_rng(0)
    out = {}
    for c in chunks:
        spans = [(c.char_start + a, c.char_start + b) for a, b in split_sentences(c.text)]
        out[c.chunk_id] = (spans, rng.normal(size=(len(spans), dim)).astype(np.float32))
    return out


def answerer(reader: FakeReader, **kw) -> Answerer:
    return Answerer(reader=reader, ranker=SentenceRanker({"cosine": 1.0}), **kw)


def test_the_best_span_is_cited_exactly_with_its_sentence(tmp_path: Path) -> None:
    a, b = chunk(1, "rhine", DOC_A), chunk(2, "oxygen", DOC_B, start=10)
    reader = FakeReader({"Basel": 3.0, "1774": 5.0}, tmp_path)
    result = answerer(reader, read_sentences=10).answer("q", np.ones(4), [a, b], sentences_of(a, b))
    assert not result.no_answer
    top = result.answers[0]
    assert top.text == "1774" and top.citation.doc_id == "oxygen"
    assert DOC_B[top.citation.char_start - 10:top.citation.char_end - 10] == "1774"
    assert top.sentence == "Oxygen was discovered in 1774." and top.sentence_start == 10
    assert [x.text for x in result.answers] == ["1774", "Basel"]
    assert result.signals["margin"] == 5.0


def test_windows_are_bounded_and_hold_the_chosen_sentence(tmp_path: Path) -> None:
    a = chunk(1, "rhine", DOC_A)
    reader = FakeReader({"coal": 1.0}, tmp_path)
    answerer(reader, read_sentences=1, window_chars=60).answer("q", np.ones(4), [a], sentences_of(a))
    assert reader.contexts and all(len(c) <= 60 and c in DOC_A for c in reader.contexts)


def test_ranker_evidence_can_outweigh_a_slightly_better_span(tmp_path: Path) -> None:
    a, b = chunk(1, "rhine", DOC_A), chunk(2, "oxygen", DOC_B)
    sentences = sentences_of(a, b)
    query = sentences[1][1][1]  # most similar to "It flows north through Basel."
    reader = FakeReader({"Basel": 3.0, "1774": 3.2}, tmp_path)
    plain = answerer(reader, read_sentences=10, ranker_weight=0.0).answer("q", query, [a, b], sentences)
    weighted = answerer(reader, read_sentences=10, ranker_weight=5.0).answer("q", query, [a, b], sentences)
    assert plain.answers[0].text == "1774" and weighted.answers[0].text == "Basel"


def test_it_abstains_when_the_reader_prefers_no_answer(tmp_path: Path) -> None:
    a = chunk(1, "rhine", DOC_A)
    reader = FakeReader({"Basel": 1.0}, tmp_path, null=4.0)
    result = answerer(reader, no_answer=NoAnswerModel.untrained()).answer("q", np.ones(4), [a], sentences_of(a))
    assert result.no_answer and result.answers == [] and result.confidence < 0.5
    forced = answerer(reader, no_answer_threshold=0.0).answer("q", np.ones(4), [a], sentences_of(a))
    assert not forced.no_answer and forced.answers[0].text == "Basel"


def test_reading_one_document_uses_the_reading_threshold(tmp_path: Path) -> None:
    a = chunk(1, "rhine", DOC_A)
    reader = FakeReader({"Basel": 2.0}, tmp_path)
    strict = NoAnswerModel({"margin": 1.0}, 0.0, 0.5, reading_threshold=3.0)
    lenient = NoAnswerModel({"margin": 1.0}, 0.0, 0.5, reading_threshold=1.0)
    assert answerer(reader, no_answer=strict).read_chunks("q", [a], sentences_of(a)).no_answer
    result = answerer(reader, no_answer=lenient).read_chunks("q", [a], sentences_of(a))
    assert result.answers[0].text == "Basel" and result.answers[0].sentence == "It flows north through Basel."
    assert reader.contexts[-1] == DOC_A  # the whole chunk is read


def test_no_candidates_means_no_answer(tmp_path: Path) -> None:
    result = answerer(FakeReader({}, tmp_path)).answer("q", np.ones(4), [], {})
    assert result.no_answer and result.answers == []


def test_the_fitted_model_travels_with_the_reader(tmp_path: Path) -> None:
    model = NoAnswerModel({"margin": 0.5, "ranker": 0.1}, -1.0, 0.4, reading_threshold=-2.0, ranker_weight=0.75)
    model.save(tmp_path / "no_answer.json", about={"data": "x"})
    loaded = Answerer(reader=FakeReader({}, tmp_path))
    assert loaded.no_answer == model and loaded.ranker_weight == 0.75 and loaded.threshold == 0.4
    with pytest.raises(KeyError):
        model.confidence({"margin": 1.0})
