"""The sentence ranker: its features, the shipped weights, saving and loading, and the order it gives the answerer."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index import StoredChunk
from rag.answer import Answerer, NoAnswerModel
from rag.sentence_rank import DEFAULT_SENTENCE_MODEL, FEATURES, SentenceRanker, sentence_features

QUESTION = "How many workers built the Hoover Dam?"
SENTENCES = [
    "The dam is a concrete arch-gravity dam on the Colorado River.",
    "About 5,000 workers built the Hoover Dam between 1931 and 1936.",
    "Workers lived in a town built for them.",
]


def features(texts=SENTENCES, similarity=(0.8, 0.6, 0.5), fused=(2.0, 2.0, 1.0), title="Hoover Dam"):
    return sentence_features(QUESTION, list(texts), similarity=np.array(similarity), fused=np.array(fused),
                             titles=[title] * len(texts))


def column(rows: np.ndarray, name: str) -> np.ndarray:
    return rows[:, FEATURES.index(name)]


def test_one_row_per_sentence_and_one_column_per_feature():
    rows = features()
    assert rows.shape == (3, len(FEATURES)) and np.isfinite(rows).all()
    assert features(texts=[], similarity=[], fused=[]).shape == (0, len(FEATURES))


def test_features_say_what_a_reader_would_notice():
    rows = features()
    assert column(rows, "cosine_gap").tolist() == pytest.approx([0.0, -0.2, -0.3])
    assert np.argmax(column(rows, "coverage_gap")) == 1  # it has the most of the question's words
    assert column(rows, "coverage_gap").max() == 0.0
    assert column(rows, "bigrams")[1] > 0 and column(rows, "bigrams")[2] == 0  # "workers built" / "hoover dam"
    assert column(rows, "type_match").tolist() == [0.0, 1.0, 0.0]  # only one has a number for "how many"
    assert column(rows, "fused_gap").tolist() == [0.0, 0.0, -1.0]
    # "hoover" and "dam" are the title's words; of "how", "many", "workers", "built" two are there
    assert column(rows, "title_free_coverage").tolist() == pytest.approx([0.0, 0.5, 0.5])


def test_the_order_follows_the_scores():
    rows = features()
    by_cosine = SentenceRanker({"cosine": 1.0})
    assert by_cosine.order(rows).tolist() == [0, 1, 2]
    assert SentenceRanker({"cosine": -1.0}).order(rows).tolist() == [2, 1, 0]
    ranker = SentenceRanker.load()
    assert ranker.order(rows).tolist() == np.argsort(-ranker.score(rows), kind="stable").tolist()
    assert ranker.order(rows)[0] == 1  # the sentence with the answer, though another is more similar


def test_ties_keep_the_candidates_order():
    assert SentenceRanker({"bias": 1.0}).order(features()).tolist() == [0, 1, 2]


def test_the_shipped_model_weighs_known_features():
    ranker = SentenceRanker.load(DEFAULT_SENTENCE_MODEL)
    assert set(ranker.weights) <= set(FEATURES) and ranker.weights["cosine"] > 0
    with pytest.raises(ValueError, match="unknown"):
        SentenceRanker({"cosine": 1.0, "length": 0.5})


def test_save_then_load_gives_the_same_ranker(tmp_path):
    ranker = SentenceRanker({"cosine": 1.5, "bigrams": -0.25, "bias": 0.1})
    path = tmp_path / "models" / "ranker.json"
    ranker.save(path, about={"fitted_on": "test"})
    loaded = SentenceRanker.load(path)
    assert loaded == ranker
    rows = features()
    assert np.array_equal(loaded.score(rows), ranker.score(rows))


def _chunk(chunk_id: int, text: str, title: str = "Hoover Dam") -> StoredChunk:
    return StoredChunk(chunk_id=chunk_id, doc_id=f"doc{chunk_id}", ordinal=0, char_start=0, char_end=len(text),
                       text=text, title=title, source="test", page_starts=None)


class FirstWordReader:
    """A stand-in reader: the first word of every window it is given."""

    directory = Path("/nonexistent-reader")

    def read(self, question, contexts, *, top_k=3):
        from rag.reader.features import SpanGuess

        return [[SpanGuess(n, 0, c.index(" "), 1.0, 0.0)] for n, c in enumerate(contexts)], np.zeros(len(contexts))


def _answer(ranker: SentenceRanker):
    """Two passages, three sentences; sentence vectors chosen so that the cosines are 0.8, 0.6, 0.5.
    The reader reads the top-ranked sentence alone."""
    first = " ".join(SENTENCES[:2])
    chunks = [_chunk(1, first), _chunk(2, SENTENCES[2])]
    spans = {1: [(0, len(SENTENCES[0])), (len(SENTENCES[0]) + 1, len(first))], 2: [(0, len(SENTENCES[2]))]}
    query = np.array([1.0, 0.0], dtype=np.float32)
    vector = {0.8: [0.8, 0.6], 0.6: [0.6, 0.8], 0.5: [0.5, np.sqrt(0.75)]}
    sentences = {1: (spans[1], np.array([vector[0.8], vector[0.6]], dtype=np.float32)),
                 2: (spans[2], np.array([vector[0.5]], dtype=np.float32))}
    answerer = Answerer(reader=FirstWordReader(), ranker=ranker, no_answer=NoAnswerModel({}, 0.0, 0.0),
                        read_sentences=1, window_chars=10)
    return answerer.answer(QUESTION, query, chunks, sentences, fused_scores=[2.0, 1.0])


def test_the_reader_reads_the_sentence_the_ranker_puts_first():
    assert _answer(SentenceRanker({"cosine": 1.0})).answers[0].sentence == SENTENCES[0]
    assert _answer(SentenceRanker({"cosine": -1.0})).answers[0].sentence == SENTENCES[2]
    shipped = _answer(SentenceRanker.load())
    assert shipped.answers[0].sentence == SENTENCES[1] and shipped.answers[0].text == "About"
    assert shipped.signals["sentence"] == pytest.approx(0.6)


def test_an_answerer_without_a_ranker_uses_the_shipped_one():
    assert Answerer(reader=FirstWordReader()).ranker == SentenceRanker.load()
