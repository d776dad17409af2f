"""End-to-end held-out figures: every fitted piece fitted on half the articles, scored on the other half.

    .venv/bin/python scripts/heldout_eval.py [--squad FILE] [--splits N] [--out FILE] [--cache FILE]

``rag eval`` on the public split is in-sample for four things fitted on those same articles: the
fusion weights (scripts/fit_fusion_weights.py), the sentence ranker (scripts/fit_sentence_ranker.py),
the span scorer (scripts/fit_answer_models.py) and the no-answer model (scripts/fit_no_answer.py). Here the articles are split into two halves (sorted
titles, first half / second half, as the fit scripts do; ``--splits N`` adds N random halvings,
seed 0). For each half A, all four are fitted on A's questions only, with the fit scripts' own
functions — the ranker on the candidates A's fusion weights retrieve, the no-answer model on signals
collected with A's fusion weights, ranker and span scorer — and
the pipeline so configured answers the other half's questions over the index of *all* the
paragraphs, built and scored exactly as ``rag eval`` does (eval.cache, eval.runner). The per-question
results of both halves are combined into one report, printed beside the shipped models' report on
the same questions. With several halvings each question is scored once per halving, so the pooled
figures are the mean over halvings.

``--cache FILE`` keeps what each fold fitted, collected and scored (and the shipped run), keyed by
a fingerprint of the data, the index and the code involved; a rerun with the same inputs only prints.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "scripts")]

import fit_answer_models as span_fit  # noqa: E402
import fit_fusion_weights as fusion_fit  # noqa: E402
import fit_no_answer as no_answer_fit  # noqa: E402
import fit_sentence_ranker as ranker_fit  # noqa: E402
from eval.compare import compare_reports  # noqa: E402
from eval.datasets import QADataset, QAExample, load_dataset  # noqa: E402
from eval.report import build_report, format_value, markdown_summary, write_json  # noqa: E402
from eval.runner import (  # noqa: E402
    DEFAULT_K, RETRIEVE_K, EvalRun, Evaluator, QuestionResult, per_question_scores, summarize)
from rag.answer import Answerer, NoAnswerModel  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402
from rag.retrieve import Retriever  # noqa: E402
from rag.sentence_rank import SentenceRanker  # noqa: E402
from rag.spans import SpanExtractor, SpanModel  # noqa: E402

logger = logging.getLogger("heldout_eval")

# Bump it when this script changes what a fold fits, asks or scores: that invalidates old caches.
CACHE_FORMAT = "heldout-eval/1"
# Code and models that decide what a fold fits or scores; editing any of them invalidates --cache.
_CODE = ("rag/**/*.py", "rag/models/*.json", "eval/*.py", "scripts/fit_*.py")
# The README's columns, in its order: (section, metric, heading).
COLUMNS = [("retrieval", "recall@1", "recall@1"), ("retrieval", "recall@5", "recall@5"),
           ("retrieval", "recall@10", "recall@10"), ("retrieval", "recall@20", "recall@20"),
           ("retrieval", "mrr@10", "mrr@10"), ("retrieval", "ndcg@10", "ndcg@10"),
           ("answer", "exact_match", "EM"), ("answer", "f1", "F1"), ("answer", "contains_gold", "contains_gold"),
           ("answer", "citation_valid", "citation_valid"), ("no_answer", "no_ans_acc", "no_ans_acc")]

Halving = tuple[frozenset[str], frozenset[str]]


def article_of(example: QAExample) -> str:
    """A SQuAD question's article: its gold paragraph's id is ``"{title}#{index}"``."""
    return example.gold_doc_ids[0].rsplit("#", 1)[0]


def halvings(articles: Sequence[str], *, extra: int = 0, seed: int = 0) -> list[Halving]:
    """The sorted titles' first and second half, then ``extra`` distinct random halvings."""
    ordered = sorted(set(articles))
    if len(ordered) < 2:
        raise ValueError("held-out figures need at least two articles")
    half = len(ordered) // 2
    out = [(frozenset(ordered[:half]), frozenset(ordered[half:]))]
    seen = {frozenset(out[0])}
    rng = random.Random(seed)
    for _ in range(1000 * (extra + 1)):
        if len(out) > extra:
            return out
        shuffled = ordered[:]
        rng.shuffle(shuffled)
        pair = (frozenset(shuffled[:half]), frozenset(shuffled[half:]))
        if frozenset(pair) not in seen:
            seen.add(frozenset(pair))
            out.append(pair)
    raise ValueError(f"{len(ordered)} articles do not have {extra} distinct halvings besides the sorted one")


def fold_key(fit_on: frozenset[str]) -> str:
    return "|".join(sorted(fit_on))


class QueryVectors:
    """The pipeline's embedder, computing each question's vector once however often it is asked.

    Vectors are computed one question at a time, as ``Pipeline.ask`` does, so they are the very
    vectors ``rag eval`` uses.
    """

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder
        self.vectors: dict[str, np.ndarray] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.embedder, name)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        for text in texts:
            if text not in self.vectors:
                self.vectors[text] = self.embedder.encode_queries([text])[0]
        return np.stack([self.vectors[t] for t in texts])


@dataclasses.dataclass
class Training:
    """What the fit scripts collect from the whole file, once; each fold fits on its articles' share."""

    pools: list[dict]  # fit_fusion_weights: each answerable question's candidate pool and raw signals
    span_items: list[tuple]  # fit_answer_models.examples
    X: np.ndarray
    y: np.ndarray
    owner: np.ndarray


def collect_training(pipeline: Pipeline, dataset: QADataset, squad: Path) -> Training:
    """The fusion pools (as fit_fusion_weights.collect records them, from this pipeline's index) and
    the span candidates' features (fit_answer_models.examples and featurize)."""
    started = time.perf_counter()
    pools = fusion_fit.pools(pipeline, dataset.examples)
    logger.info("fusion pools of %d answerable questions: %.1f s", len(pools), time.perf_counter() - started)
    started = time.perf_counter()
    span_items = list(span_fit.examples(squad))
    X, y, owner, _ = span_fit.featurize(span_items)
    logger.info("span candidates of %d answerable questions (%d rows): %.1f s", len(span_items), len(X),
                time.perf_counter() - started)
    return Training(pools, span_items, X, y, owner)


def fit_pieces(training: Training, fit_on: frozenset[str]) -> tuple[dict[str, float], SpanModel]:
    """The fusion weights and the span scorer, fitted on the articles ``fit_on`` only."""
    weights = fusion_fit.best([item for item in training.pools if item["article"] in fit_on])
    train = np.array([training.span_items[o][0] in fit_on for o in training.owner], dtype=bool)
    return weights, SpanModel(span_fit.fit(training.X[train], training.y[train]))


def no_answer_items(examples: Sequence[QAExample]) -> list[dict]:
    """Questions in fit_no_answer.collect's form (plus their id)."""
    return [{"id": e.qid, "question": e.question, "article": article_of(e), "answers": list(e.answers),
             "answerable": e.answerable} for e in examples]


def fit_fold(pipeline: Pipeline, dataset: QADataset, training: Training, fit_on: frozenset[str], *,
             max_drop: float) -> dict[str, Any]:
    """All four pieces fitted on ``fit_on``'s questions; the no-answer model on signals collected
    with this fold's fusion weights, sentence ranker and span scorer, as fit_no_answer.py collects them."""
    started = time.perf_counter()
    weights, spans = fit_pieces(training, fit_on)
    pipeline.retriever = Retriever(weights=weights)
    # The sentence ranker, on the candidates this fold's retrieval gives its own articles' questions.
    items = ranker_fit.candidates_of(pipeline, [e for e in dataset.examples if article_of(e) in fit_on],
                                     with_spans=False)
    ranker = ranker_fit.fit([ranker_fit.features(item) for item in items], items)
    pipeline.answerer = Answerer(spans=SpanExtractor(spans), ranker=ranker, no_answer_threshold=0.0)
    signals = no_answer_fit.ask_all(pipeline, no_answer_items([e for e in dataset.examples
                                                                 if article_of(e) in fit_on]))
    no_answer = no_answer_fit.fit(signals, max_drop)
    logger.info("fitted on %s: weights %s, no-answer threshold %.3f (%d questions asked, %.1f s)",
                sorted(fit_on), weights, no_answer.threshold, len(signals), time.perf_counter() - started)
    return {"fit_on": sorted(fit_on), "fusion_weights": weights, "ranker_weights": ranker.weights,
            "span_weights": spans.weights.tolist(),
            "span_sentence_fallback": spans.sentence_fallback, "no_answer": dataclasses.asdict(no_answer),
            "signals": signals}


def configure(pipeline: Pipeline, fold: dict[str, Any] | None) -> None:
    """The pipeline as a fold fitted it, or (``None``) as shipped."""
    if fold is None:
        pipeline.retriever = Retriever()
        pipeline.answerer = Answerer(spans=SpanExtractor())
        return
    spans = SpanModel(np.array(fold["span_weights"], dtype=np.float32),
                      sentence_fallback=fold["span_sentence_fallback"])
    pipeline.retriever = Retriever(weights=fold["fusion_weights"])
    pipeline.answerer = Answerer(spans=SpanExtractor(spans), ranker=SentenceRanker(fold["ranker_weights"]),
                                 no_answer=NoAnswerModel(**fold["no_answer"]))


def subset(dataset: QADataset, articles: frozenset[str]) -> QADataset:
    return dataclasses.replace(dataset, examples=tuple(e for e in dataset.examples if article_of(e) in articles))


def evaluate(pipeline: Pipeline, dataset: QADataset, *, k: Sequence[int], progress: bool) -> list[dict]:
    """``rag eval``'s runner on these questions; per-question results as plain dicts (for the cache)."""
    run = Evaluator(dataset, k=k, mode="hybrid", progress=progress).run(pipeline)
    return [dataclasses.asdict(r) for r in run.results]


def question_results(rows: Sequence[dict]) -> list[QuestionResult]:
    return [QuestionResult(**{**row, "gold_answers": tuple(row["gold_answers"]),
                              "gold_doc_ids": tuple(row["gold_doc_ids"])}) for row in rows]


def report(dataset: QADataset, rows: Sequence[dict], *, k: Sequence[int], config: dict[str, Any],
           index_build_s: float) -> tuple[dict[str, Any], EvalRun]:
    """``rag eval``'s JSON report of these per-question results."""
    results = question_results(rows)
    run = EvalRun(dataset=dataset, mode="hybrid", k=tuple(k), results=results, metrics=summarize(results, k=k),
                  seconds=0.0)
    return build_report(run, config=config, index_build_s=index_build_s), run


def fingerprint(dataset: QADataset, index_key: str, max_drop: float, k: Sequence[int]) -> str:
    digest = hashlib.sha256(json.dumps([CACHE_FORMAT, dataset.sha256, index_key, max_drop, list(k)]).encode())
    for path in sorted({path for pattern in _CODE for path in REPO.glob(pattern)}):
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def load_cache(path: Path | None, key: str) -> dict[str, Any]:
    empty: dict[str, Any] = {"format": CACHE_FORMAT, "fingerprint": key, "folds": {}, "shipped": None}
    if path is None or not path.is_file():
        return empty
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        logger.warning("ignoring the unreadable cache %s (%s)", path, exc)
        return empty
    if body.get("fingerprint") != key:
        logger.info("the cache %s is from other data or code; starting afresh", path)
        return empty
    logger.info("using the cache %s (%d folds)", path, len(body["folds"]))
    return body


def run_heldout(pipeline: Pipeline, dataset: QADataset, squad: Path, *, splits: Sequence[Halving], index_key: str,
                k: Sequence[int] = DEFAULT_K, max_drop: float = 0.025, cache_path: Path | None = None,
                progress: bool = False) -> dict[str, Any]:
    """Fit, ask and score every fold (or take it from the cache); the folds and the shipped run's rows."""
    if not isinstance(pipeline.embedder, QueryVectors):
        pipeline.embedder = QueryVectors(pipeline.embedder)
    cache = load_cache(cache_path, fingerprint(dataset, index_key, max_drop, k))

    def save() -> None:
        if cache_path is not None:
            write_json(cache_path, cache, indent=None)

    if cache["shipped"] is None:
        started = time.perf_counter()
        configure(pipeline, None)
        cache["shipped"] = evaluate(pipeline, dataset, k=k, progress=progress)
        logger.info("shipped models on %d questions: %.1f s", len(dataset.examples), time.perf_counter() - started)
        save()
    training = None
    for halves in splits:
        for fit_on, score_on in (halves, halves[::-1]):
            key = fold_key(fit_on)
            if key in cache["folds"]:
                continue
            training = training or collect_training(pipeline, dataset, squad)
            fold = fit_fold(pipeline, dataset, training, fit_on, max_drop=max_drop)
            started = time.perf_counter()
            configure(pipeline, fold)
            fold["scored_on"] = sorted(score_on)
            fold["results"] = evaluate(pipeline, subset(dataset, score_on), k=k, progress=progress)
            logger.info("scored on %s: %d questions, %.1f s", sorted(score_on), len(fold["results"]),
                        time.perf_counter() - started)
            cache["folds"][key] = fold
            save()
    configure(pipeline, None)
    return cache


def summarize_heldout(cache: dict[str, Any], dataset: QADataset, *, splits: Sequence[Halving],
                      k: Sequence[int], config: dict[str, Any], index_build_s: float) -> dict[str, Any]:
    """The held-out reports (per halving and pooled), the shipped one, and held out − shipped."""
    def make(rows: Sequence[dict], **extra: Any) -> tuple[dict[str, Any], EvalRun]:
        return report(dataset, rows, k=k, config={**config, **extra}, index_build_s=index_build_s)

    per_split, pooled, first_run = [], [], None
    for n, halves in enumerate(splits):
        folds = [cache["folds"][fold_key(fit_on)] for fit_on in halves]
        rows = [row for fold in folds for row in fold["results"]]
        pooled.extend(rows)
        split_report, split_run = make(rows, models="held out", halving=n)
        first_run = first_run or split_run
        per_split.append({"halving": n, "how": "sorted titles, first / second half" if n == 0 else "random",
                          "folds": [{key: fold[key] for key in ("fit_on", "scored_on", "fusion_weights",
                                                                  "no_answer", "span_sentence_fallback")}
                                    for fold in folds],
                          "report": split_report})
    held_out, _ = make(pooled, models="held out", halvings=len(splits))
    shipped, shipped_run = make(cache["shipped"], models="shipped (fitted on all articles)")
    # Paired differences on the first halving, where every question is scored exactly once.
    comparison = compare_reports(per_split[0]["report"], shipped, current_scores=_scores(first_run),
                                 baseline_scores=_scores(shipped_run), max_drop=1.0)
    deltas = {row.name: {"delta": row.delta, "ci95": row.ci, "p_value": row.p_value, "n_paired": row.n_paired}
              for row in comparison.rows}
    return {"held_out": held_out, "shipped": shipped, "halvings": per_split,
            "held_out_minus_shipped_first_halving": deltas}


def _scores(run: EvalRun) -> dict[str, dict[str, float]]:
    scores = per_question_scores(run.results, k=run.k)
    return {name: {r.qid: v for r, v in zip(run.results, values, strict=True) if v is not None}
            for name, values in scores.items()}


def comparison_table(summary: dict[str, Any]) -> str:
    """One row per report, the README's columns, then held out − shipped with its 95% interval."""
    lines = ["| models | " + " | ".join(heading for _, _, heading in COLUMNS) + " |",
             "|---|" + "---:|" * len(COLUMNS)]

    def row(name: str, rep: dict[str, Any]) -> None:
        lines.append(f"| {name} | " + " | ".join(format_value(rep[s][m]) for s, m, _ in COLUMNS) + " |")

    for split in summary["halvings"]:
        row(f"held out, halving {split['halving']} ({split['how']})", split["report"])
    if len(summary["halvings"]) > 1:
        row(f"**held out, mean of {len(summary['halvings'])} halvings**", summary["held_out"])
    row("shipped (in-sample)", summary["shipped"])
    cells = []
    for section, metric, _ in COLUMNS:
        d = summary["held_out_minus_shipped_first_halving"].get(f"{section}.{metric}") or {}
        if d.get("delta") is None:
            cells.append("–")
        else:
            ci = d.get("ci95")
            cells.append(f"{d['delta']:+.3f}" + (f" [{ci[0]:+.3f}, {ci[1]:+.3f}]" if ci else ""))
    lines.append("| halving 0 − shipped [95% CI] | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad", type=Path, default=REPO.parent / "shared" / "eval" / "squad2-dev-public.json")
    parser.add_argument("--splits", type=int, default=0, metavar="N",
                        help="random halvings (seed 0) besides the sorted one (default 0)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random halvings (default 0)")
    parser.add_argument("--max-drop", type=float, default=0.025, help="as fit_no_answer.py (default 0.025)")
    parser.add_argument("--out", type=Path, help="write the reports here as JSON")
    parser.add_argument("--cache", type=Path, help="reuse (or save) each fold's fits, signals and scores here")
    parser.add_argument("--cache-dir", default=".eval-cache", help="where index builds are cached, as rag eval")
    parser.add_argument("--model", help="a local sentence-transformers model directory (default: the bundled one)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    from eval.cache import open_cached_index
    from rag.embed import SentenceTransformerEmbedder

    started = time.perf_counter()
    dataset = load_dataset(args.squad)
    if dataset.documents is None:
        parser.error(f"{args.squad} is not SQuAD JSON")
    splits = halvings([article_of(e) for e in dataset.examples], extra=args.splits, seed=args.seed)
    embedder = SentenceTransformerEmbedder(args.model) if args.model else SentenceTransformerEmbedder()
    built = open_cached_index(embedder=embedder, documents=dataset.documents, cache_dir=args.cache_dir,
                              progress=sys.stderr.isatty())
    cache = run_heldout(built.pipeline, dataset, args.squad, splits=splits, index_key=built.key,
                        max_drop=args.max_drop, cache_path=args.cache, progress=sys.stderr.isatty())
    config = {"qa": str(args.squad), "dataset_format": dataset.format, "dataset_sha256": dataset.sha256,
              "retrieval": "hybrid", "k": list(DEFAULT_K), "retrieve_k": RETRIEVE_K, "model": embedder.name,
              "model_sha256": embedder.sha256, "chunking": built.pipeline.chunking.to_dict(),
              "index": {"dir": str(built.directory), "cache_key": built.key, "cached": built.cached,
                        "build_s": round(built.build_seconds, 3), "documents": built.documents,
                        "chunks": built.chunks},
              "max_drop": args.max_drop, "seed": args.seed}
    summary = summarize_heldout(cache, dataset, splits=splits, k=DEFAULT_K, config=config,
                                index_build_s=built.seconds)
    seconds = time.perf_counter() - started
    titles = {"held_out": ("held out", "each half's questions answered with the pieces fitted on the other half"),
              "shipped": ("shipped", "the pieces fitted on all articles (in-sample), the same questions")}
    for name, (label, what) in titles.items():
        rep = summary[name]
        print(f"# {label}: {what}\n")
        print(markdown_summary({**rep, "config": {**rep["config"], "retrieval": f"hybrid, {label}"}}))
    print(comparison_table(summary))
    for split in summary["halvings"]:
        for fold in split["folds"]:
            print(f"halving {split['halving']}: fitted on {', '.join(fold['fit_on'])}: fusion weights "
                  f"{fold['fusion_weights']}, no-answer threshold {fold['no_answer']['threshold']:.3f}")
    print("Latency: the shipped run computes each question's vector; the held-out runs reuse it, so their "
          "latency leaves out the embedding.")
    print(f"{len(splits)} halving(s), {len(dataset.examples)} questions each; run {seconds:.1f} s")
    if args.out:
        write_json(args.out, {"script": "scripts/heldout_eval.py", "seconds": round(seconds, 1), **summary})
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
