"""The JSON report, the scores file, the history, Markdown, and the baseline comparison and gate."""
from __future__ import annotations

import copy
import json

import pytest

from eval.cache import open_cached_index
from eval.compare import compare_reports, markdown_comparison
from eval.datasets import load_squad
from eval.errors import BaselineError
from eval.plots import plot_run
from eval.report import (
    REPORT_KEYS,
    append_history,
    build_report,
    history_entry,
    markdown_summary,
    read_history,
    read_report,
    read_scores,
    scores_path,
    write_json,
    write_questions,
    write_scores,
)
from eval.runner import Evaluator, recall_curve


@pytest.fixture
def run(squad_file, tmp_path, fake_embedder):
    dataset = load_squad(squad_file)
    built = open_cached_index(embedder=fake_embedder, documents=dataset.documents, cache_dir=tmp_path / "cache")
    return Evaluator(dataset, mode="hybrid").run(built.pipeline)


def _report(**sections):
    base = {"dataset": "d.json", "n_questions": 4, "n_answerable": 3, "n_unanswerable": 1,
            "config": {"retrieval": "hybrid", "model": "m", "dataset_sha256": "abc"},
            "retrieval": {"recall@1": 0.5, "recall@5": 0.9, "mrr@10": 0.7, "ndcg@10": 0.75},
            "answer": {"exact_match": 0.1, "f1": 0.3, "contains_gold": 0.6, "citation_valid": 1.0},
            "no_answer": {"precision": 0.5, "recall": 0.5, "f1": 0.5, "has_ans_f1": 0.3, "no_ans_acc": 0.5},
            "latency_ms": {"p50": 20.0, "p95": 40.0}, "index_build_s": 0.0}
    for name, values in sections.items():
        base[name] = {**base[name], **values}
    return base


def test_the_report_has_exactly_the_issues_keys(run):
    report = build_report(run, config={"retrieval": "hybrid"}, index_build_s=1.23456)
    assert tuple(report) == REPORT_KEYS
    assert set(report["retrieval"]) == {"recall@1", "recall@5", "recall@10", "recall@20", "mrr@10", "ndcg@10"}
    assert set(report["answer"]) == {"exact_match", "f1", "contains_gold", "citation_valid"}
    assert set(report["no_answer"]) == {"precision", "recall", "f1", "has_ans_f1", "no_ans_acc"}
    assert set(report["latency_ms"]) == {"p50", "p95"}
    assert (report["n_questions"], report["n_answerable"], report["n_unanswerable"]) == (7, 5, 2)
    assert report["index_build_s"] == 1.235
    assert json.loads(json.dumps(report)) == report  # plain JSON


def test_scores_round_trip_without_question_text(run, tmp_path):
    path = write_scores(tmp_path / "r.scores.json", run)
    text = path.read_text()
    assert all(r.question not in text for r in run.results)
    scores = read_scores(path)
    assert set(scores["retrieval.recall@5"]) == {r.qid for r in run.results if r.answerable}
    assert set(scores["no_answer.no_ans_acc"]) == {r.qid for r in run.results if not r.answerable}
    assert scores_path("out/x.json").as_posix() == "out/x.scores.json"
    assert read_scores(tmp_path / "missing.json") is None


def test_questions_jsonl_for_error_analysis(run, tmp_path):
    lines = [json.loads(x) for x in write_questions(tmp_path / "q.jsonl", run).read_text().splitlines()]
    assert len(lines) == 7
    first = lines[0]
    assert {"id", "question", "gold_answers", "gold_docs", "top_answer", "gold_rank", "pass"} <= set(first)
    assert first["gold_docs"] == ["Cats#0"] and isinstance(first["pass"], bool)


def test_history_appends_one_line_per_run(run, tmp_path):
    report = build_report(run, config={"retrieval": "hybrid"}, index_build_s=0.0)
    path = tmp_path / "h" / "history.jsonl"
    append_history(path, history_entry(report, seconds=1.0, commit="abc123", dirty=False, when=0))
    append_history(path, history_entry(report, seconds=2.0, commit="def456", dirty=True))
    with path.open("a") as f:
        f.write("not json\n")  # a damaged line is skipped
    entries = read_history(path)
    assert [e["git_commit"] for e in entries] == ["abc123", "def456"]
    assert entries[0]["time"] == "1970-01-01T00:00:00Z"
    assert entries[0]["metrics"]["retrieval"] == report["retrieval"]
    assert entries[0]["config"] == {"retrieval": "hybrid"}


def test_markdown_summary(run):
    report = build_report(run, config={"retrieval": "bm25", "index": {"cached": True}}, index_build_s=0.0)
    text = markdown_summary(report, seconds=3.0, notes=["a note"])
    assert "| retrieval | recall@1 | recall@5 | recall@10 | recall@20 | mrr@10 | ndcg@10 |" in text
    assert f"| bm25 | {report['retrieval']['recall@1']:.3f} |" in text
    assert "(cached" in text and "run 3.0 s" in text and text.rstrip().endswith("a note")


def test_plot_is_a_png(run, tmp_path):
    history = [{"git_commit": f"c{i}", "metrics": {"retrieval": {"recall@5": 0.5 + i / 10, "mrr@10": 0.4},
                                                   "answer": {"contains_gold": 0.3, "f1": None}}} for i in range(3)]
    path = plot_run(tmp_path / "eval.png", curve=recall_curve(run.results, depth=20), label="hybrid",
                    history=history, baseline=_report())
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_comparison_deltas_and_gate():
    baseline = _report()
    current = _report(retrieval={"recall@5": 0.885, "mrr@10": 0.75}, answer={"f1": 0.28})
    comparison = compare_reports(current, baseline, max_drop=0.01)
    rows = {r.name: r for r in comparison.rows}
    assert rows["retrieval.recall@5"].delta == pytest.approx(-0.015)
    assert rows["retrieval.mrr@10"].delta == pytest.approx(0.05)
    assert [r.name for r in comparison.regressions] == ["retrieval.recall@5", "answer.f1"]
    assert not comparison.ok
    assert compare_reports(current, baseline, max_drop=0.02).ok
    text = markdown_comparison(comparison, baseline_name="base.json")
    assert "gate: FAIL" in text and "REGRESSION" in text and "no per-question scores" in text
    # a drop of exactly max_drop passes
    assert compare_reports(_report(answer={"f1": 0.29}), baseline, max_drop=0.01).ok


def test_comparison_warns_about_different_datasets():
    other = _report()
    other["dataset"] = "other.json"
    comparison = compare_reports(_report(), other)
    assert any("other.json" in w for w in comparison.warnings)
    assert comparison.ok


def test_comparison_tests_paired_scores():
    ids = [f"q{i}" for i in range(30)]
    baseline_scores = {"retrieval.recall@5": dict.fromkeys(ids, 0.0)}
    current_scores = {"retrieval.recall@5": {q: 1.0 if i < 20 else 0.0 for i, q in enumerate(ids)}}
    comparison = compare_reports(_report(), _report(), current_scores=current_scores, baseline_scores=baseline_scores)
    row = next(r for r in comparison.rows if r.name == "retrieval.recall@5")
    assert row.n_paired == 30 and row.p_value < 0.001
    assert row.ci[0] > 0.4 and row.ci[1] < 0.9  # mean difference 2/3
    other = next(r for r in comparison.rows if r.name == "retrieval.mrr@10")
    assert other.p_value is None and other.n_paired == 0


def test_a_missing_primary_metric_is_an_error():
    baseline = _report()
    del baseline["retrieval"]["recall@5"]
    with pytest.raises(BaselineError, match="recall@5 is missing from the baseline"):
        compare_reports(_report(), baseline)


def test_read_report_refuses_other_files(tmp_path):
    write_json(tmp_path / "r.json", _report())
    assert read_report(tmp_path / "r.json")["dataset"] == "d.json"
    (tmp_path / "x.json").write_text('{"a": 1}')
    with pytest.raises(BaselineError, match="not an eval report"):
        read_report(tmp_path / "x.json")
    with pytest.raises(BaselineError, match="cannot read"):
        read_report(tmp_path / "missing.json")


def test_gate_uses_the_reports_not_the_scores():
    baseline = _report()
    current = copy.deepcopy(baseline)
    current["answer"]["contains_gold"] -= 0.05
    assert [r.name for r in compare_reports(current, baseline).regressions] == ["answer.contains_gold"]
