"""The runner: ask every question once, score retrieval and answers, summarize.

Follows the sentence-transformers evaluator contract: ``Evaluator(dataset)(pipeline)`` returns a
flat ``dict[str, float]`` and ``Evaluator.primary_metric`` names the one to optimize. ``run``
returns everything else (per-question results, the nested metrics of the JSON report).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from tqdm.auto import tqdm

from domain.access import Scope
from eval.datasets import QADataset, QAExample, with_gold_documents
from eval.metrics import (
    contains_answer,
    distinct,
    exact_match,
    f1_score,
    first_relevant_rank,
    max_over_golds,
    mean,
    ndcg_at_k,
    no_answer_scores,
    percentile,
    recall_at_k,
    reciprocal_rank,
)
from rag import MAX_K, RETRIEVAL_MODES, RetrievalMode

if TYPE_CHECKING:
    from rag import Pipeline
    from domain.types import AskResult, Document

__all__ = ["Evaluator", "EvalRun", "QuestionResult", "score_question", "summarize", "squad2_scores", "recall_curve", "per_question_scores",
           "DEFAULT_K", "RANK_CUTOFF", "PRIMARY_METRICS", "RETRIEVE_K"]

logger = logging.getLogger(__name__)

DEFAULT_K: tuple[int, ...] = (1, 5, 10, 20)
RANK_CUTOFF = 10  # for mrr@10 and ndcg@10
# Asking for the most chunks the pipeline returns leaves room for 20+ distinct documents.
RETRIEVE_K = MAX_K
PRIMARY_METRICS: tuple[str, ...] = ("retrieval.recall@5", "retrieval.mrr@10", "answer.contains_gold", "answer.f1")
_LOG_EVERY = 500
_GOLD = "\0gold"  # all of a question's gold documents, counted as one (see QuestionResult.relevance)


@dataclass(slots=True)
class QuestionResult:
    """What one question got, and its scores.

    Attributes:
        ranked_doc_ids: the distinct documents of the retrieved passages, best first.
        gold_rank: the 1-based rank of the first gold document among them (``None``: not retrieved).
        exact_match, f1, contains_gold: of the top answer, on answerable questions (else ``None``);
            an abstention scores 0.
        n_valid_citations: how many of the ``n_answers`` answers equal their cited document slice.
    """

    qid: str
    question: str
    gold_answers: tuple[str, ...]
    gold_doc_ids: tuple[str, ...]
    ranked_doc_ids: list[str]
    gold_rank: int | None
    abstained: bool
    confidence: float
    top_answer: str | None
    top_answer_doc: str | None
    n_answers: int
    n_valid_citations: int
    exact_match: float | None
    f1: float | None
    contains_gold: float | None
    latency_ms: float
    timings_ms: dict[str, float] = field(default_factory=dict)
    top_answer_sentence: str | None = None

    @property
    def answerable(self) -> bool:
        return bool(self.gold_answers)

    @property
    def retrieval_scored(self) -> bool:
        """Retrieval is scored on answerable questions whose gold document is known."""
        return self.answerable and bool(self.gold_doc_ids)

    @property
    def passed(self) -> bool:
        """Answerable: the top answer contains a gold answer. Unanswerable: it abstained."""
        return bool(self.contains_gold) if self.answerable else self.abstained

    def relevance(self) -> tuple[list[str], set[str]]:
        """The ranking and relevant set to score.

        A JSONL ``source`` can name a file holding many documents (records) while the answer is in
        one of them, so several gold documents count as one: the first of them retrieved is the hit.
        """
        if len(self.gold_doc_ids) <= 1:
            return self.ranked_doc_ids, set(self.gold_doc_ids)
        gold = set(self.gold_doc_ids)
        return distinct(_GOLD if d in gold else d for d in self.ranked_doc_ids), {_GOLD}

    def retrieval_scores(self, k: Sequence[int]) -> dict[str, float]:
        ranked, relevant = self.relevance()
        scores = {f"recall@{n}": recall_at_k(ranked, relevant, n) for n in k}
        scores[f"mrr@{RANK_CUTOFF}"] = reciprocal_rank(ranked, relevant, RANK_CUTOFF)
        scores[f"ndcg@{RANK_CUTOFF}"] = ndcg_at_k(ranked, relevant, RANK_CUTOFF)
        return scores

    def to_dict(self) -> dict[str, Any]:
        """A line of the per-question JSONL, for error analysis."""
        return {
            "id": self.qid,
            "question": self.question,
            "gold_answers": list(self.gold_answers),
            "gold_docs": list(self.gold_doc_ids),
            "answerable": self.answerable,
            "gold_rank": self.gold_rank,
            "retrieved_docs": self.ranked_doc_ids[:RANK_CUTOFF],
            "n_retrieved_docs": len(self.ranked_doc_ids),
            "abstained": self.abstained,
            "confidence": round(self.confidence, 4),
            "top_answer": self.top_answer,
            "top_answer_doc": self.top_answer_doc,
            "top_answer_sentence": self.top_answer_sentence,
            "exact_match": self.exact_match,
            "f1": None if self.f1 is None else round(self.f1, 4),
            "contains_gold": self.contains_gold,
            "citations_valid": self.n_valid_citations == self.n_answers,
            "latency_ms": round(self.latency_ms, 2),
            "timings_ms": {name: round(ms, 2) for name, ms in self.timings_ms.items()},
            "pass": self.passed,
        }


def score_question(example: QAExample, result: AskResult, *, latency_ms: float,
                   document: Callable[[str], Document]) -> QuestionResult:
    """Score one :class:`~domain.types.AskResult`; ``document(doc_id)`` returns the cited document."""
    ranked = distinct(p.citation.doc_id for p in result.passages)
    gold = set(example.gold_doc_ids)
    top = result.answers[0] if result.answers and not result.no_answer else None
    prediction = top.text if top is not None else ""
    valid = sum(document(a.citation.doc_id).text[a.citation.char_start:a.citation.char_end] == a.text
                for a in result.answers)
    answerable = example.answerable
    return QuestionResult(
        qid=example.qid, question=example.question, gold_answers=example.answers, gold_doc_ids=example.gold_doc_ids,
        ranked_doc_ids=ranked, gold_rank=first_relevant_rank(ranked, gold) if gold else None,
        abstained=result.no_answer, confidence=result.confidence,
        top_answer=top.text if top is not None else None,
        top_answer_doc=top.citation.doc_id if top is not None else None,
        n_answers=len(result.answers), n_valid_citations=int(valid),
        exact_match=max_over_golds(exact_match, prediction, example.answers) if answerable else None,
        f1=max_over_golds(f1_score, prediction, example.answers) if answerable else None,
        contains_gold=contains_answer(prediction, example.answers) if answerable else None,
        latency_ms=latency_ms, timings_ms=dict(result.timings_ms),
        top_answer_sentence=top.sentence if top is not None else None,
    )


def summarize(results: Sequence[QuestionResult], *, k: Sequence[int] = DEFAULT_K) -> dict[str, dict[str, float | None]]:
    """The report's metric sections (``retrieval``, ``answer``, ``no_answer``, ``latency_ms``)."""
    scored = [r.retrieval_scores(k) for r in results if r.retrieval_scored]
    names = [*(f"recall@{n}" for n in k), f"mrr@{RANK_CUTOFF}", f"ndcg@{RANK_CUTOFF}"]
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    n_answers = sum(r.n_answers for r in results)
    no_answer = no_answer_scores([r.abstained for r in results], [r.answerable for r in results])
    latencies = [r.latency_ms for r in results]
    return {
        "retrieval": {name: mean(s[name] for s in scored) for name in names},
        "answer": {
            "exact_match": mean(r.exact_match for r in answerable),
            "f1": mean(r.f1 for r in answerable),
            "contains_gold": mean(r.contains_gold for r in answerable),
            "citation_valid": sum(r.n_valid_citations for r in results) / n_answers if n_answers else None,
        },
        "no_answer": {
            **no_answer,
            # The SQuAD v2.0 script's HasAns_f1 and NoAns_exact: an abstention is the empty answer.
            "has_ans_f1": mean(r.f1 for r in answerable),
            "no_ans_acc": mean(float(r.abstained) for r in unanswerable),
        },
        "latency_ms": {"p50": percentile(latencies, 50), "p95": percentile(latencies, 95)},
        "squad2": squad2_scores(results),
    }


def squad2_scores(results: Sequence[QuestionResult]) -> dict[str, float | None]:
    """The official SQuAD 2.0 script's figures (0–100): an abstention is the empty answer, which is
    exactly right on an unanswerable question and scores 0 on an answerable one."""
    has = [r for r in results if r.answerable]
    no = [r for r in results if not r.answerable]
    em = [r.exact_match for r in has] + [float(r.abstained) for r in no]
    f1 = [r.f1 for r in has] + [float(r.abstained) for r in no]

    def pct(values: list) -> float | None:
        return 100.0 * sum(values) / len(values) if values else None

    return {
        "exact": pct(em), "f1": pct(f1), "total": len(results),
        "HasAns_exact": pct([r.exact_match for r in has]), "HasAns_f1": pct([r.f1 for r in has]),
        "HasAns_total": len(has),
        "NoAns_exact": pct([float(r.abstained) for r in no]), "NoAns_f1": pct([float(r.abstained) for r in no]),
        "NoAns_total": len(no),
    }


def recall_curve(results: Sequence[QuestionResult], *, depth: int) -> list[float]:
    """Recall@1 … recall@``depth`` over the questions whose retrieval is scored."""
    scored = [r for r in results if r.retrieval_scored]
    if not scored:
        return []
    return [mean(recall_at_k(*r.relevance(), n) for r in scored) for n in range(1, depth + 1)]


def per_question_scores(results: Sequence[QuestionResult], *,
                        k: Sequence[int] = DEFAULT_K) -> dict[str, list[float | None]]:
    """Every question's own value of each mean metric (``None`` where it does not apply).

    These are what a paired significance test against a baseline needs.
    """
    names = [*(f"recall@{n}" for n in k), f"mrr@{RANK_CUTOFF}", f"ndcg@{RANK_CUTOFF}"]
    out: dict[str, list[float | None]] = {f"retrieval.{n}": [] for n in names}
    for name in ("exact_match", "f1", "contains_gold"):
        out[f"answer.{name}"] = [getattr(r, name) for r in results]
    out["no_answer.has_ans_f1"] = list(out["answer.f1"])
    out["no_answer.no_ans_acc"] = [None if r.answerable else float(r.abstained) for r in results]
    for r in results:
        scores = r.retrieval_scores(k) if r.retrieval_scored else {}
        for n in names:
            out[f"retrieval.{n}"].append(scores.get(n))
    return out


@dataclass(slots=True)
class EvalRun:
    """One evaluation: the dataset as asked, the options, per-question results and the metrics."""

    dataset: QADataset
    mode: RetrievalMode
    k: tuple[int, ...]
    results: list[QuestionResult]
    metrics: dict[str, dict[str, float | None]]
    seconds: float

    def flat(self) -> dict[str, float]:
        """``{"retrieval.recall@5": 0.93, ...}``, leaving out metrics that do not apply."""
        return {f"{section}.{name}": float(value) for section, values in self.metrics.items()
                for name, value in values.items() if value is not None}

    def few_documents(self) -> int:
        """How many questions retrieved fewer distinct documents than the largest ``k``."""
        return sum(len(r.ranked_doc_ids) < max(self.k) for r in self.results)


class Evaluator:
    """Scores a pipeline on a QA dataset: ``Evaluator(dataset)(pipeline) -> dict[str, float]``.

    Args:
        dataset: the questions (a SQuAD dataset's documents must already be in the pipeline's index).
        k: the cut-offs of ``recall@k`` (each 1–50); ``mrr@10`` and ``ndcg@10`` are always reported.
        mode: the retrieval mode to evaluate.
        progress: show a progress bar.
        gold_passage: ask each question of its first gold document only (``Pipeline.read``): reading
            comprehension, as SQuAD 2.0 readers are scored. Questions without a known gold document
            are left out.
        scope: ask within it (a ``where`` filter, ``rag eval --where``); questions whose gold documents
            it does not admit are left out, so the run scores what an index of only those documents would.
    """

    primary_metric = "retrieval.recall@5"

    def __init__(self, dataset: QADataset, *, k: Sequence[int] = DEFAULT_K, mode: RetrievalMode = "hybrid",
                 progress: bool = False, gold_passage: bool = False, scope: Scope | None = None) -> None:
        if not k or any(isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_K for n in k):
            raise ValueError(f"every k must be an integer from 1 to {MAX_K}")
        if mode not in RETRIEVAL_MODES:
            raise ValueError(f"mode must be one of {RETRIEVAL_MODES}, not {mode!r}")
        self.dataset = dataset
        self.k = tuple(sorted(set(k)))
        self.mode = mode
        self.progress = progress
        self.gold_passage = gold_passage
        self.scope = scope

    def __call__(self, pipeline: Pipeline) -> dict[str, float]:
        return self.run(pipeline).flat()

    def run(self, pipeline: Pipeline) -> EvalRun:
        started = time.perf_counter()
        dataset = with_gold_documents(self.dataset, ((d.doc_id, d.source) for d in pipeline.documents()))
        if self.scope is not None:
            admitted = {d.doc_id for d in pipeline.documents(scope=self.scope)}
            dataset = replace(dataset, examples=tuple(e for e in dataset.examples if set(e.gold_doc_ids) <= admitted))
        documents: dict[str, Document] = {}

        def document(doc_id: str) -> Document:
            if doc_id not in documents:
                documents[doc_id] = pipeline.document(doc_id)
            return documents[doc_id]

        results = []
        if self.gold_passage:
            dataset = replace(dataset, examples=tuple(e for e in dataset.examples if e.gold_doc_ids))
        bar = tqdm(dataset.examples, desc=f"eval {self.mode}", unit="q", disable=not self.progress, mininterval=1.0)
        for n, example in enumerate(bar, start=1):
            t0 = time.perf_counter()
            if self.gold_passage:
                answer = pipeline.read(example.question, example.gold_doc_ids[0], scope=self.scope)
            else:
                answer = pipeline.ask(example.question, k=RETRIEVE_K, mode=self.mode, scope=self.scope)
            latency_ms = (time.perf_counter() - t0) * 1000
            results.append(score_question(example, answer, latency_ms=latency_ms, document=document))
            if n % _LOG_EVERY == 0:
                logger.info("%s: %d/%d questions, %.1f s", self.mode, n, len(dataset.examples),
                            time.perf_counter() - started)
        metrics = summarize(results, k=self.k)
        if self.gold_passage:  # nothing was retrieved: the passage was given
            metrics["retrieval"] = dict.fromkeys(metrics["retrieval"])
        run = EvalRun(dataset=dataset, mode=self.mode, k=self.k, results=results, metrics=metrics,
                      seconds=time.perf_counter() - started)
        few = run.few_documents()
        if few:
            logger.info("%d of %d questions retrieved fewer than %d distinct documents", few, len(results),
                        max(self.k))
        return run
