"""The public names of the eval package, pinned."""
from __future__ import annotations

import importlib

import pytest

import eval

PUBLIC = {
    "eval": ["Evaluator", "EvalRun", "QuestionResult", "PRIMARY_METRICS", "QADataset", "QAExample", "load_dataset",
             "BuiltIndex", "open_cached_index", "EvalError", "DatasetError", "BaselineError",
             "main", "run", "add_arguments", "percentile", "exact_match", "f1_score", "max_over_golds", "add_fit_commands",
             "eval_records", "squad_dataset", "failure_report", "BOUNDARIES",
             "recording", "no_ans_acc_within"],
    "eval.failures": ["FAILURE_CLASSES", "BOUNDARIES", "is_failure", "classify_failure", "sample_failures", "failure_table",
                      "boundary", "best_boundary", "answer_kind", "boundary_table", "failure_report"],
    "eval.metrics": ["normalize_answer", "answer_tokens", "exact_match", "f1_score", "max_over_golds",
                     "contains_answer", "distinct", "first_relevant_rank", "recall_at_k", "reciprocal_rank",
                     "ndcg_at_k", "no_answer_scores", "mean", "percentile"],
    "eval.stats": ["paired_randomization_test", "paired_bootstrap_ci", "EXACT_UP_TO"],
    "eval.errors": ["EvalError", "DatasetError", "BaselineError"],
    "eval.compare": ["MetricDelta", "Comparison", "compare_reports", "markdown_comparison", "SIGNIFICANCE"],
    "eval.plots": ["plot_run"],
    "eval.fitting.halves": ["article_halves", "split_items"],
    "eval.fitting.provenance": ["provenance", "embedder_about"],
    "eval.fitting.fusion": ["GRID", "SEED", "Pool", "FusionFit", "collect_pools", "ranks", "figures", "best_weights",
                            "fit_fusion"],
    "eval.fitting.sentence_ranker": ["COSINE_ONLY", "TOPS", "collect_candidates", "candidate_features", "fit_ranker",
                                     "score_ranker", "held_out"],
    "eval.fitting.no_answer": ["GRID", "collect_guesses", "fit_ranker_weight", "fit_no_answer", "no_ans_acc_within",
                               "collect_reading", "reading_figures", "fit_reading_threshold"],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_all(module):
    assert sorted(importlib.import_module(module).__all__) == sorted(PUBLIC[module])


def test_lazy_names_resolve():
    for name in eval.__all__:
        assert getattr(eval, name) is not None
    with pytest.raises(AttributeError):
        eval.nothing  # noqa: B018


def test_errors_are_rag_errors():
    from domain.errors import RagError

    assert issubclass(eval.DatasetError, eval.EvalError) and issubclass(eval.EvalError, RagError)
