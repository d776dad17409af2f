"""Short answers inside sentences: question types, the span scorer with the shipped weights, the parse cache."""
from __future__ import annotations

import pytest

from rag.spans import SentenceParses, SpanExtractor, question_type


@pytest.mark.parametrize(("question", "kind"), [
    ("Who founded the city?", "person"),
    ("When did the war end?", "date"),
    ("In what year was it built?", "date"),
    ("How many people live there?", "number"),
    ("Where is the river's source?", "place"),
    ("Which country borders it?", "place"),
    ("Why did the empire fall?", "reason"),
    ("What is the capital made of?", "what"),
    ("Tell me about the weather", "other"),
])
def test_question_words_give_the_answer_type(question, kind):
    assert question_type(question) == kind


@pytest.fixture(scope="module")
def extractor():
    return SpanExtractor()


@pytest.mark.parametrize(("question", "sentence", "answer"), [
    ("Who is the Chinese ambassador to Norway?",
     "The Chinese ambassador to Norway, Hou Yue, met the minister on Tuesday.", "Hou Yue"),
    ("When did the bridge open?", "The bridge opened in March 1932 after six years of work.", "March 1932"),
    ("How many workers built the dam?", "About 5,000 workers built the dam on the river.", "About 5,000"),
])
def test_the_best_span_is_the_answer_not_the_words_of_the_question(extractor, question, sentence, answer):
    [span] = extractor.best_spans(question, [sentence])
    assert span is not None
    assert sentence[span.start:span.end] == answer


def test_every_sentence_gets_a_span_or_none_in_order(extractor):
    sentences = ["Paris is the capital of France.", "", "The bridge opened in March 1932."]
    spans = extractor.best_spans("When did the bridge open?", sentences)
    assert len(spans) == 3 and spans[1] is None
    assert sentences[2][spans[2].start:spans[2].end] == "March 1932"


def test_parses_are_cached_and_the_cache_is_bounded():
    parses = SentenceParses(size=2)
    first = parses.get(["One sentence here.", "Another one.", "One sentence here."])
    assert first[0] is first[2]  # a repeat within one call is parsed once
    assert parses.get(["One sentence here."])[0] is first[0]
    parses.get(["A third.", "A fourth."])
    assert parses.get(["One sentence here."])[0] is not first[0]  # evicted, parsed again
