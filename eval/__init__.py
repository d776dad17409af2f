"""The eval harness: score retrieval and answers of a :class:`rag.Pipeline` against question–answer pairs.

>>> from eval import Evaluator, load_dataset, open_cached_index
>>> dataset = load_dataset("../shared/eval/squad2-dev-public.json")
>>> built = open_cached_index(embedder=embedder, documents=dataset.documents)
>>> Evaluator(dataset, mode="hybrid")(built.pipeline)["retrieval.recall@5"]

From the shell: ``rag eval --qa FILE`` or ``python -m eval --qa FILE`` (see :mod:`eval.cli`).
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "Evaluator",
    "EvalRun",
    "QuestionResult",
    "PRIMARY_METRICS",
    "QADataset",
    "QAExample",
    "load_dataset",
    "BuiltIndex",
    "open_cached_index",
    "EvalError",
    "DatasetError",
    "BaselineError",
    "main",
    "run",
    "add_arguments",
    "percentile",
    "exact_match",
    "f1_score",
    "max_over_golds",
    "add_fit_commands",
    "eval_records",
    "squad_dataset",
    "failure_report",
    "BOUNDARIES",
    "recording",
    "no_ans_acc_within",
]

# Imported lazily: `rag --help` loads eval.cli, which must not pull in faiss and torch.
_HOMES = {
    **{name: "eval.runner" for name in ("Evaluator", "EvalRun", "QuestionResult", "PRIMARY_METRICS")},
    **{name: "eval.datasets" for name in ("QADataset", "QAExample", "load_dataset")},
    **{name: "eval.cache" for name in ("BuiltIndex", "open_cached_index")},
    **{name: "eval.errors" for name in ("EvalError", "DatasetError", "BaselineError")},
    **{name: "eval.cli" for name in ("main", "run", "add_arguments")},
    **{name: "eval.metrics" for name in ("percentile", "exact_match", "f1_score", "max_over_golds")},
    "add_fit_commands": "eval.fitting.cli",
    **{name: "eval.feedback" for name in ("eval_records", "squad_dataset")},
    **{name: "eval.failures" for name in ("failure_report", "BOUNDARIES")},
    "recording": "eval.fitting.recording",
    "no_ans_acc_within": "eval.fitting.no_answer",
}

if TYPE_CHECKING:
    from eval.cache import BuiltIndex, open_cached_index
    from eval.datasets import QADataset, QAExample, load_dataset
    from eval.cli import add_arguments, main, run
    from eval.errors import BaselineError, DatasetError, EvalError
    from eval.failures import BOUNDARIES, failure_report
    from eval.fitting.no_answer import no_ans_acc_within
    from eval.fitting.recording import recording
    from eval.feedback import eval_records, squad_dataset
    from eval.fitting.cli import add_fit_commands
    from eval.metrics import exact_match, f1_score, max_over_golds, percentile
    from eval.runner import PRIMARY_METRICS, EvalRun, Evaluator, QuestionResult


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'eval' has no attribute {name!r}")
