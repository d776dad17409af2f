"""The feedback loop on a tiny corpus: verdicts stored with the index (every engine), then exported as eval
questions that `rag eval` scores and as SQuAD examples `rag train-reader` learns from."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from domain.access import PUBLIC_ONLY
from domain.errors import InvalidFeedbackError, InvalidQuestionError
from rag import Pipeline
from rag.hash_embedder import HashEmbedder
from ragcli.main import main as rag
from tests.index.test_conformance import engine, engine_location, where  # noqa: F401 - fixtures

NILE = "The Nile is the longest river in Africa.\n\nIt flows north into the Mediterranean Sea through Egypt."
PAY = "Salaries are paid on the 25th of each month."


@pytest.fixture
def pipeline(where: str) -> Pipeline:  # noqa: F811 - the engine's location
    pipeline = Pipeline.open(where, embedder=HashEmbedder(), no_answer_threshold=0.2)
    pipeline.ingest_record({"id": "nile", "title": "Nile", "text": NILE})
    pipeline.ingest_record({"id": "pay", "title": "Payroll", "text": PAY, "groups": ["hr"]})
    yield pipeline
    pipeline.directory.close()


def _span(text: str, words: str, doc_id: str) -> dict:
    start = text.index(words)
    return {"doc_id": doc_id, "char_start": start, "char_end": start + len(words)}


def test_verdicts_are_checked_and_stored_with_the_index(pipeline):
    wrong = pipeline.record_feedback("Which sea does the Nile flow into?", "wrong",
                                     answer=_span(NILE, "the Mediterranean Sea", "nile"), scope=PUBLIC_ONLY,
                                     key_name="widget", note="it stopped short")
    assert wrong.span.text == "the Mediterranean Sea" and wrong.context.startswith("It flows north")
    assert wrong.context[wrong.span.char_start - wrong.context_start:].startswith("the Mediterranean Sea")
    assert set(wrong.given) == {"text", "doc_id", "char_start", "char_end", "confidence", "no_answer"}
    pipeline.record_feedback("How many moons does the Nile have?", "no_answer", scope=PUBLIC_ONLY)
    for bad, error in [(dict(verdict="maybe"), InvalidFeedbackError),
                       (dict(verdict="wrong", answer=_span(PAY, "the 25th", "pay")), InvalidFeedbackError),  # hidden
                       (dict(verdict="wrong", answer={"doc_id": "nile", "char_start": 5, "char_end": 999}),
                        InvalidFeedbackError),
                       (dict(verdict="no_answer", answer=_span(NILE, "Egypt", "nile")), InvalidFeedbackError),
                       (dict(verdict="wrong", note="\ud800"), InvalidFeedbackError)]:
        with pytest.raises(error):
            pipeline.record_feedback("Which sea?", scope=PUBLIC_ONLY, **bad)
    with pytest.raises(InvalidQuestionError):
        pipeline.record_feedback("  ", "wrong", scope=PUBLIC_ONLY)
    stored = pipeline.feedback()
    assert [(f.verdict, f.key_name) for f in stored] == [("wrong", "widget"), ("no_answer", None)]
    assert stored[0] == wrong and stored[0].id
    assert pipeline.feedback(since=stored[1].created_at) == stored[1:]


def test_exported_feedback_is_scored_by_eval_and_trained_on(pipeline, where, tmp_path: Path, capsys):  # noqa: F811
    from eval.cli import main as rag_eval
    from rag.reader.runtime import Reader

    pipeline.record_feedback("Which sea does the Nile flow into?", "wrong",
                             answer=_span(NILE, "the Mediterranean Sea", "nile"))
    pipeline.record_feedback("Which river is the longest in Africa?", "correct",
                             answer=_span(NILE, "The Nile", "nile"))
    pipeline.record_feedback("How many moons does the Nile have?", "no_answer")
    pipeline.record_feedback("Who built the Nile?", "wrong")  # says what is not the answer, not what is
    pipeline.directory.close()
    jsonl, squad = tmp_path / "feedback.jsonl", tmp_path / "feedback.json"
    assert rag(["--index", where, "feedback", "export", "--jsonl", str(jsonl), "--squad", str(squad)]) == 0
    assert "1 'wrong' without the right words left out" in capsys.readouterr().out
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["answers"] for r in records] == [["the Mediterranean Sea"], ["The Nile"], []]
    assert rag(["--index", where, "feedback", "list"]) == 0 and "4 feedback" in capsys.readouterr().out

    assert rag_eval(["--index", where, "--qa", str(jsonl), "--out", str(tmp_path / "eval"), "--no-plot",
                     "--history", str(tmp_path / "history.jsonl")], embedder=HashEmbedder()) == 0
    report = json.loads((tmp_path / "eval" / "report.json").read_text())
    assert (report["n_questions"], report["n_answerable"]) == (3, 2)

    dataset = json.loads(squad.read_text())
    examples = [qa for article in dataset["data"] for p in article["paragraphs"] for qa in p["qas"]]
    for article in dataset["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                for answer in qa["answers"]:
                    assert paragraph["context"][answer["answer_start"]:].startswith(answer["text"])
    assert [qa["is_impossible"] for qa in examples] == [False, False, True]
    if where.startswith("milvus"):
        return  # the training step is the same for every engine: once is enough
    reader = tmp_path / "reader"
    assert rag(["train-reader", "--qa", str(squad), "--out", str(reader), "--max-length", "64", "--batch-size", "2",
                "--no-progress"]) == 0
    spans, _ = Reader(reader, cache_dir=tmp_path / "cache").read("Which sea?", [NILE])
    assert spans[0]
