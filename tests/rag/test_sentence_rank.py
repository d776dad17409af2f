"""The sentence ranker: its features, the shipped weights, saving and loading, and the order it gives the answerer."""
from __future__ import annotations

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


def _answer(ranker: SentenceRanker, **options):
    """Two passages, three sentences; sentence vectors chosen so that the cosines are 0.8, 0.6, 0.5."""
    first = " ".join(SENTENCES[:2])
    chunks = [_chunk(1, first), _chunk(2, SENTENCES[2])]
    spans = {1: [(0, len(SENTENCES[0])), (len(SENTENCES[0]) + 1, len(first))], 2: [(0, len(SENTENCES[2]))]}
    query = np.array([1.0, 0.0], dtype=np.float32)
    vector = {0.8: [0.8, 0.6], 0.6: [0.6, 0.8], 0.5: [0.5, np.sqrt(0.75)]}
    sentences = {1: (spans[1], np.array([vector[0.8], vector[0.6]], dtype=np.float32)),
                 2: (spans[2], np.array([vector[0.5]], dtype=np.float32))}
    answerer = Answerer(ranker=ranker, no_answer=NoAnswerModel({}, 0.0, 0.0), **options)
    return answerer.answer(QUESTION, query, chunks, sentences, fused_scores=[2.0, 1.0])


def test_the_answerer_orders_sentences_by_the_ranker():
    by_cosine = _answer(SentenceRanker({"cosine": 1.0}))
    assert [a.sentence for a in by_cosine.answers] == SENTENCES
    reversed_ = _answer(SentenceRanker({"cosine": -1.0}))
    assert [a.sentence for a in reversed_.answers] == SENTENCES[::-1]
    shipped = _answer(SentenceRanker.load())
    assert shipped.answers[0].sentence == SENTENCES[1]
    # an answer's score is the ranker's probability, so answers come best score first
    scores = [a.score for a in shipped.answers]
    assert scores == sorted(scores, reverse=True) and all(0.0 < x < 1.0 for x in scores)
    assert shipped.signals["ranker"] == pytest.approx(np.log(scores[0] / (1 - scores[0])), abs=1e-5)
    # the no-answer signals "sentence" and "sentence_gap" are the chosen sentences' similarities
    assert shipped.signals["sentence"] == pytest.approx(0.6)
    second = next(a for a in shipped.answers[1:])
    assert shipped.signals["sentence_gap"] == pytest.approx(0.6 - {SENTENCES[0]: 0.8, SENTENCES[2]: 0.5}[second.sentence])
    for result in (by_cosine, reversed_, shipped):
        for a in result.answers:
            assert a.sentence[a.citation.char_start - a.sentence_start:][: len(a.text)] == a.text


def test_an_answerer_without_a_ranker_uses_the_shipped_one():
    assert Answerer().ranker == SentenceRanker.load()


class FirstWordSpans:
    """A stand-in span extractor: the first word of every sentence, and a record of what it parsed."""

    def __init__(self):
        self.asked: list[str] = []

    def best_spans(self, question, sentences):
        from rag.spans import Span

        self.asked += sentences
        return [Span(0, s.index(" "), "NP", 1.0) for s in sentences]


@pytest.mark.parametrize(("bias", "min_score", "shortened"), [
    (-5.0, 0.5, 1),  # every sentence unlikely: only the top answer is cut short
    (+5.0, 0.5, 3),  # every sentence likely: all three are
    (-5.0, 0.0, 3),  # no cut-off: all three
])
def test_only_likely_sentences_are_cut_to_a_short_span(bias, min_score, shortened):
    spans = FirstWordSpans()
    result = _answer(SentenceRanker({"cosine": 1.0, "bias": bias}), spans=spans, span_min_score=min_score)
    assert len(spans.asked) == shortened
    assert [a.text != a.sentence for a in result.answers] == [True] * shortened + [False] * (3 - shortened)
