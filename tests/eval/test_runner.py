"""The runner: scoring one answer by hand, then whole runs through a real Pipeline with the fake embedder."""
from __future__ import annotations

import pytest

from domain.access import Scope, parse_where
from domain.types import Answer, AskResult, Citation, Document, Passage
from eval.cache import open_cached_index
from eval.datasets import QAExample, load_squad
from eval.runner import Evaluator, QuestionResult, per_question_scores, recall_curve, score_question, summarize

TEXTS = {
    "A": "Cats sleep a lot.",
    "B": "Cats sleep for twelve to sixteen hours a day. They dream.",
    "C": "Rivers flow.",
}


def _citation(doc_id: str, start: int, end: int) -> Citation:
    return Citation(doc_id=doc_id, title=doc_id, source=f"{doc_id}.txt", page=None, chunk_id=0,
                    char_start=start, char_end=end)


def _document(doc_id: str) -> Document:
    return Document(doc_id=doc_id, text=TEXTS[doc_id], source=f"{doc_id}.txt", title=doc_id)


def _ask_result(*, no_answer: bool = False, bad_citation: bool = False) -> AskResult:
    passages = [Passage(text="", score=1.0 - i / 10, citation=_citation(d, 0, 1)) for i, d in enumerate("AABC")]
    sentence = "Cats sleep for twelve to sixteen hours a day."
    answers = [] if no_answer else [
        Answer(text=sentence, score=0.8, sentence=sentence, sentence_start=0, sentence_end=len(sentence),
               citation=_citation("B", 0, len(sentence))),
        Answer(text="They dream.", score=0.5, sentence="They dream.", sentence_start=46, sentence_end=57,
               citation=_citation("B", 46, 57 if not bad_citation else 56)),
    ]
    return AskResult(question="q", no_answer=no_answer, confidence=0.8 if not no_answer else 0.1, answers=answers,
                     passages=passages, timings_ms={"total": 5.0})


def test_score_question_by_hand():
    example = QAExample(qid="q1", question="How long do cats sleep?", answers=("twelve to sixteen hours",),
                        gold_doc_ids=("B",))
    result = score_question(example, _ask_result(), latency_ms=12.0, document=_document)
    assert result.ranked_doc_ids == ["A", "B", "C"]  # chunks of A count once
    assert result.gold_rank == 2
    assert result.top_answer == "Cats sleep for twelve to sixteen hours a day."
    assert result.exact_match == 0.0
    # pred: cats sleep for twelve to sixteen hours day (8) · gold: 4 tokens, all in pred → P 1/2, R 1 → 2/3
    assert result.f1 == pytest.approx(2 / 3)
    assert result.contains_gold == 1.0
    assert (result.n_answers, result.n_valid_citations) == (2, 2)
    assert result.passed
    scores = result.retrieval_scores((1, 5))
    assert scores == {"recall@1": 0.0, "recall@5": 1.0, "mrr@10": 0.5, "ndcg@10": pytest.approx(0.63093, abs=1e-5)}


def test_a_wrong_citation_is_counted():
    example = QAExample(qid="q1", question="?", answers=("x",), gold_doc_ids=("B",))
    result = score_question(example, _ask_result(bad_citation=True), latency_ms=1.0, document=_document)
    assert (result.n_answers, result.n_valid_citations) == (2, 1)
    assert result.to_dict()["citations_valid"] is False


def test_abstaining_scores_zero_on_answerable_and_passes_on_unanswerable():
    answerable = QAExample(qid="a", question="?", answers=("twelve",), gold_doc_ids=("B",))
    unanswerable = QAExample(qid="u", question="?", answers=(), gold_doc_ids=("B",))
    a = score_question(answerable, _ask_result(no_answer=True), latency_ms=1.0, document=_document)
    u = score_question(unanswerable, _ask_result(no_answer=True), latency_ms=3.0, document=_document)
    assert (a.exact_match, a.f1, a.contains_gold, a.top_answer) == (0.0, 0.0, 0.0, None)
    assert not a.passed and u.passed
    assert (u.exact_match, u.f1, u.contains_gold) == (None, None, None)
    answered = score_question(unanswerable, _ask_result(), latency_ms=5.0, document=_document)
    assert not answered.passed

    metrics = summarize([a, u, answered], k=(1, 5))
    # retrieval only on the answerable one: gold B at rank 2
    assert metrics["retrieval"] == {"recall@1": 0.0, "recall@5": 1.0, "mrr@10": 0.5,
                                    "ndcg@10": pytest.approx(0.63093, abs=1e-5)}
    assert metrics["answer"]["f1"] == 0.0 and metrics["answer"]["exact_match"] == 0.0
    assert metrics["answer"]["citation_valid"] == 1.0  # the 2 answers of `answered`
    # abstained on a (answerable: FP) and u (unanswerable: TP); answered (unanswerable: FN)
    assert metrics["no_answer"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "has_ans_f1": 0.0, "no_ans_acc": 0.5}
    assert metrics["latency_ms"] == {"p50": 3.0, "p95": pytest.approx(4.8)}
    # the official SQuAD 2.0 script's figures: an abstention is the empty answer
    assert metrics["squad2"] == {"exact": pytest.approx(100 / 3), "f1": pytest.approx(100 / 3), "total": 3,
                                 "HasAns_exact": 0.0, "HasAns_f1": 0.0, "HasAns_total": 1,
                                 "NoAns_exact": 50.0, "NoAns_f1": 50.0, "NoAns_total": 2}


def test_several_gold_documents_count_as_one_hit():
    result = QuestionResult(qid="q", question="?", gold_answers=("x",), gold_doc_ids=("r1", "r2", "r3"),
                            ranked_doc_ids=["z", "r2", "y", "r1"], gold_rank=2, abstained=False, confidence=1.0,
                            top_answer=None, top_answer_doc=None, n_answers=0, n_valid_citations=0,
                            exact_match=0.0, f1=0.0, contains_gold=0.0, latency_ms=1.0)
    # the records of one source file: any of them is the hit, and they are not three things to find
    assert result.retrieval_scores((1, 2)) == {"recall@1": 0.0, "recall@2": 1.0, "mrr@10": 0.5,
                                               "ndcg@10": pytest.approx(0.63093, abs=1e-5)}


@pytest.fixture
def squad_pipeline(squad_file, tmp_path, fake_embedder):
    dataset = load_squad(squad_file)
    built = open_cached_index(embedder=fake_embedder, documents=dataset.documents, cache_dir=tmp_path / "cache")
    return dataset, built.pipeline


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_run_over_a_real_pipeline(squad_pipeline, mode):
    dataset, pipeline = squad_pipeline
    run = Evaluator(dataset, k=(1, 2, 4), mode=mode).run(pipeline)
    assert len(run.results) == 7 and run.mode == mode
    assert set(run.metrics["retrieval"]) == {"recall@1", "recall@2", "recall@4", "mrr@10", "ndcg@10"}
    assert run.metrics["retrieval"]["recall@4"] == 1.0  # 4 documents in all
    assert run.metrics["answer"]["citation_valid"] == 1.0
    for result in run.results:
        assert result.gold_rank is not None and len(result.ranked_doc_ids) == len(set(result.ranked_doc_ids))
    # word overlap is enough for the fake embedder and BM25 to find these paragraphs first
    assert run.metrics["retrieval"]["recall@1"] >= 0.8
    if mode != "bm25":  # dense ranks every chunk; BM25 only those sharing a word with the question
        assert run.few_documents() == 0


def test_gold_passage_reads_each_question_s_own_paragraph(squad_pipeline):
    dataset, pipeline = squad_pipeline
    run = Evaluator(dataset, gold_passage=True).run(pipeline)
    assert len(run.results) == 7
    assert all(value is None for value in run.metrics["retrieval"].values())  # nothing was retrieved
    assert run.metrics["answer"]["citation_valid"] == 1.0
    for result in run.results:
        assert result.ranked_doc_ids == list(result.gold_doc_ids)
        assert result.top_answer_doc in (None, *result.gold_doc_ids)
    assert run.metrics["squad2"]["total"] == 7 and run.metrics["squad2"]["HasAns_total"] == 5


def test_a_where_filter_asks_within_it_and_leaves_out_questions_it_excludes(squad_pipeline):
    dataset, pipeline = squad_pipeline
    scope = Scope(where=parse_where({"title": "Rivers"}))
    run = Evaluator(dataset, k=(1, 2), scope=scope).run(pipeline)
    assert sorted(r.qid for r in run.results) == ["q3", "q4", "q5"]  # the Rivers paragraphs' questions
    assert {d.split("#")[0] for r in run.results for d in r.ranked_doc_ids} == {"Rivers"}
    assert run.metrics["retrieval"]["recall@2"] == 1.0  # two documents admitted


def test_evaluator_contract(squad_pipeline):
    dataset, pipeline = squad_pipeline
    evaluator = Evaluator(dataset, mode="dense")
    metrics = evaluator(pipeline)
    assert evaluator.primary_metric in metrics
    assert all(isinstance(v, float) for v in metrics.values())
    assert {"retrieval.recall@20", "retrieval.mrr@10", "answer.f1", "no_answer.no_ans_acc", "latency_ms.p95"} <= set(metrics)


def test_per_question_scores_and_curve(squad_pipeline):
    dataset, pipeline = squad_pipeline
    run = Evaluator(dataset, k=(1, 4), mode="dense").run(pipeline)
    scores = per_question_scores(run.results, k=run.k)
    assert all(len(values) == len(run.results) for values in scores.values())
    answerable = [r.answerable for r in run.results]
    # retrieval and answer scores exist for answerable questions only, abstention for the others
    assert [v is not None for v in scores["retrieval.recall@1"]] == answerable
    assert [v is not None for v in scores["answer.f1"]] == answerable
    assert [v is None for v in scores["no_answer.no_ans_acc"]] == answerable
    assert sum(filter(None, scores["retrieval.recall@1"])) / sum(answerable) == run.metrics["retrieval"]["recall@1"]
    curve = recall_curve(run.results, depth=6)
    assert len(curve) == 6 and curve == sorted(curve) and curve[3] == 1.0
    assert curve[0] == run.metrics["retrieval"]["recall@1"]


def test_bad_options_are_refused(squad_file):
    dataset = load_squad(squad_file)
    with pytest.raises(ValueError):
        Evaluator(dataset, k=(0, 5))
    with pytest.raises(ValueError):
        Evaluator(dataset, k=(51,))
    with pytest.raises(ValueError):
        Evaluator(dataset, mode="sparse")
