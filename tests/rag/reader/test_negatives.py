"""The unanswerable pairs made from answerable ones: answer removed, and the retriever's wrong paragraph."""
from __future__ import annotations

from rag.reader.negatives import ArticleRanker, answer_removed
from rag.reader.squad import ReadingExample
from rag.reader.train import training_pairs

CONTEXT = ("The Rhine rises in the Swiss Alps near the Oberalp Pass. It flows north through Basel, Cologne and "
           "Rotterdam before reaching the North Sea. Barges on the river carry coal, grain and containers. "
           "It is about 1,230 kilometres long.")


def example(question: str, answer: str, context: str = CONTEXT, qid: str = "q") -> ReadingExample:
    return ReadingExample(qid=qid, question=question, context=context,
                          answers=((context.index(answer), answer),), title="Rhine")


def test_answer_removed_drops_exactly_the_sentences_holding_the_answer() -> None:
    left = answer_removed(example("What do barges carry?", "coal, grain and containers"))
    assert left is not None
    assert "coal" not in left and "Barges" not in left
    assert left.startswith("The Rhine rises") and left.endswith("1,230 kilometres long.")
    assert "North Sea." in left  # the sentences around it are kept whole


def test_answer_removed_gives_up_when_the_answer_is_repeated_or_too_little_is_left() -> None:
    repeated = "Basel is on the Rhine. Trains from Basel reach Zurich in an hour, and many people travel so."
    assert answer_removed(ReadingExample("q", "Which city is on the Rhine?", repeated, ((0, "Basel"),))) is None
    short = "It is about 1,230 kilometres long. The Rhine is a river."
    assert answer_removed(example("How long is it?", "about 1,230 kilometres", short)) is None
    assert answer_removed(ReadingExample("q", "Unanswerable?", CONTEXT, ())) is None


def test_the_ranker_hands_back_the_best_paragraph_without_the_answer() -> None:
    paragraphs = ["The Rhine's barges carry coal and grain downstream to Rotterdam.",
                  "Cologne cathedral took six centuries to build.",
                  "Barges on the Rhine also carry containers, and barges carry tourists in summer.",
                  CONTEXT]
    ranker = ArticleRanker(paragraphs)
    e = example("What do barges on the Rhine carry?", "coal, grain and containers")
    assert ranker.ranked(e.question)[0] in (0, 2, 3) and 1 not in ranker.ranked(e.question)
    # paragraph 0 holds "coal" but not the whole answer; the answer's own paragraph is never handed back
    assert ranker.negative_for(e) in (paragraphs[0], paragraphs[2])
    assert ArticleRanker([CONTEXT]).negative_for(e) is None


def test_training_pairs_count_each_kind_and_every_negative_is_unanswerable() -> None:
    other = ("Barges and river cruise ships share the Rhine; cruise ships carry tourists from Basel to Amsterdam "
             "past castles and vineyards.")
    examples = [example("What do barges carry?", "coal, grain and containers", qid="a"),
                example("How long is the Rhine?", "about 1,230 kilometres", qid="b"),
                example("What do cruise ships carry?", "tourists", other, qid="c"),
                ReadingExample("d", "Who built the Rhine?", CONTEXT, (), "Rhine")]
    counts: dict[str, int] = {}
    pairs = training_pairs(examples, negatives=1.0, answer_removed=1.0, seed=0, counts=counts)
    assert counts["answerable"] == 3 and counts["unanswerable"] == 1
    assert counts["answer_removed"] >= 2 and counts["retrieval_negative"] >= 1
    assert len(pairs) == 4 + counts["answer_removed"] + counts["retrieval_negative"]
    answers = {e.question: e.answers for e in examples}
    for question, context, answer in pairs[4:]:
        assert answer is None
        assert not any(text.lower() in context.lower() for _, text in answers[question])
    assert training_pairs(examples, negatives=0.0, answer_removed=0.0, seed=0) == pairs[:4]
