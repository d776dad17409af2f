"""The command line: ``rag [--index DIR] eval --qa FILE ...`` and ``python -m eval --qa FILE ...``.

Exit status: 0 on success, 1 on an error (bad file, missing index, …), 3 when ``--baseline`` is
given and a primary metric dropped more than ``--max-drop`` below it.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from domain.access import FilterError, Scope, parse_where_args
from domain.modes import BUILDABLE_ENGINES, RETRIEVAL_MODES

if TYPE_CHECKING:
    from rag import Embedder

__all__ = ["add_arguments", "run", "build_parser", "main", "parse_k", "EXIT_REGRESSION", "DEFAULT_OUT", "DEFAULT_K",
           "MAX_K", "RETRIEVAL_MODES", "DEFAULT_CACHE_DIR"]

logger = logging.getLogger(__name__)

EXIT_REGRESSION = 3
DEFAULT_OUT = "eval-out"

# Kept here rather than imported so that building the `rag` parser stays instant (rag.pipeline loads
# faiss and onnxruntime); tests/eval pin it to rag.MAX_K.
MAX_K = 50
DEFAULT_K = (1, 5, 10, 20)
DEFAULT_CACHE_DIR = ".eval-cache"


def _engine(value: str) -> str:
    """``local``, ``milvus-lite`` or ``milvus://HOST:PORT`` (a server, without a collection name)."""
    if value in BUILDABLE_ENGINES or (value.startswith("milvus://") and value.count("/") == 2):
        return value
    raise argparse.ArgumentTypeError(f"expected one of {', '.join(BUILDABLE_ENGINES)} or milvus://HOST:PORT, "
                                     f"got {value!r}")


def _where(text: str) -> str:
    try:
        parse_where_args([text])
    except FilterError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return text


def parse_k(text: str) -> tuple[int, ...]:
    """``"1,5,10,20"`` → ``(1, 5, 10, 20)``; each from 1 to 50."""
    try:
        values = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--k takes comma-separated integers, not {text!r}") from None
    if not values or not all(1 <= v <= MAX_K for v in values):
        raise argparse.ArgumentTypeError(f"every k must be from 1 to {MAX_K}")
    return values


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("expected a positive integer")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("expected a number from 0 to 1")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The eval options (``--index`` and ``--model`` belong to the enclosing command)."""
    parser.add_argument("--qa", required=True, metavar="FILE",
                        help="SQuAD v1.1/v2.0 JSON (brings its own documents) or JSONL question-answer pairs")
    parser.add_argument("--corpus", nargs="+", metavar="PATH",
                        help="for JSONL: files and directories to index (cached); default: the existing --index")
    parser.add_argument("--k", type=parse_k, default=DEFAULT_K, metavar="1,5,10,20",
                        help="recall@k cut-offs (default 1,5,10,20); mrr@10 and ndcg@10 are always reported")
    parser.add_argument("--limit", type=_positive, metavar="N",
                        help="ask only N questions, spread evenly over the file")
    parser.add_argument("--retrieval", choices=RETRIEVAL_MODES, default="hybrid", help="retrieval mode (default hybrid)")
    parser.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                        help=f"where report.json, questions.jsonl, history.jsonl and eval.png go (default {DEFAULT_OUT})")
    parser.add_argument("--json", metavar="FILE", help="write the JSON report here instead of DIR/report.json")
    parser.add_argument("--baseline", metavar="FILE", help="a report to compare with; fails on a regression")
    parser.add_argument("--max-drop", type=_fraction, default=0.01, metavar="X",
                        help="how far a primary metric may fall below --baseline (default 0.01)")
    parser.add_argument("--history", metavar="FILE", help="the history file to append to (default DIR/history.jsonl)")
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE_DIR, metavar="DIR",
                        help=f"where index builds are cached (default {DEFAULT_CACHE_DIR})")
    parser.add_argument("--no-plot", action="store_true", help="do not draw eval.png")
    parser.add_argument("--engine", type=_engine, default="local", metavar="ENGINE",
                        help="where the evaluated index is built: local (a directory, the default), milvus-lite (a "
                             "file) or milvus://HOST:PORT (a collection on that Milvus server, kept for the next run)")
    parser.add_argument("--sentence-vectors", choices=["separate", "late"], default=None,
                        help="how the evaluated index embeds sentences (see `rag ingest --sentence-vectors`); "
                             "default: what a new index gets")
    parser.add_argument("--where", action="append", type=_where, metavar="KEY=VALUE",
                        help="ask within the documents meeting a filter, as `rag ask --where` (repeatable); questions "
                             "whose gold documents it leaves out are not asked")
    parser.add_argument("--gold-passage", action="store_true",
                        help="ask each question of its own document only (SQuAD: its paragraph), no retrieval: the "
                             "reading-comprehension setting that SQuAD 2.0 readers are compared in")


def _load_embedder(args: argparse.Namespace) -> Embedder:
    from rag import SentenceTransformerEmbedder

    # `rag --model DIR --backend NAME eval` (python -m eval has neither: the bundled model on ONNX).
    from rag import DEFAULT_BACKEND

    return SentenceTransformerEmbedder(getattr(args, "model", None),
                                       backend=getattr(args, "backend", None) or DEFAULT_BACKEND)


def _answerer_config(pipeline: Any) -> dict[str, Any]:
    answerer = getattr(pipeline, "answerer", None)
    names = ("passages", "read_sentences", "window_chars", "max_answers", "ranker_weight", "threshold")
    config: dict[str, Any] = {n: getattr(answerer, n) for n in names
                              if isinstance(getattr(answerer, n, None), (int, float))}
    reader = getattr(answerer, "reader", None)
    if reader is not None:
        config["reader"] = reader.name
    return config


def run(args: argparse.Namespace, *, embedder: Embedder | None = None, stdout: TextIO | None = None) -> int:
    """Evaluate, write every output, print the Markdown summary; the exit status."""
    from eval.cache import open_cached_index
    from eval.compare import compare_reports, markdown_comparison
    from eval.datasets import load_dataset
    from eval.errors import DatasetError
    from eval.report import (append_history, build_report, history_entry, markdown_summary,
                             read_history, read_report, read_scores, scores_path, write_json, write_questions,
                             write_scores)
    from eval.runner import RANK_CUTOFF, RETRIEVE_K, Evaluator, recall_curve
    from rag import DEFAULT_SENTENCE_VECTORS, Pipeline, git_commit

    stdout = stdout or sys.stdout
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    # the code this run loads (the checkout eval/ lives in), taken now: others may commit meanwhile
    commit, dirty = git_commit()
    dataset = load_dataset(args.qa).limited(args.limit)
    if dataset.documents is not None and args.corpus:
        raise DatasetError(f"{args.qa} is SQuAD JSON and brings its own documents; --corpus is for JSONL files")
    progress = sys.stderr.isatty()
    embedder = embedder or _load_embedder(args)
    options: dict[str, Any] = {"reader_dir": args.reader} if getattr(args, "reader", None) else {}
    t0 = time.perf_counter()
    if dataset.documents is not None or args.corpus:
        built = open_cached_index(embedder=embedder, documents=dataset.documents, corpus=args.corpus,
                                  cache_dir=args.cache_dir, progress=progress,
                                  sentence_vectors=args.sentence_vectors or DEFAULT_SENTENCE_VECTORS,
                                  engine=getattr(args, "engine", "local"), **options)
        pipeline = built.pipeline
        index: dict[str, Any] = {"dir": str(built.directory), "cache_key": built.key, "cached": built.cached,
                                 "build_s": round(built.build_seconds, 3), "documents": built.documents,
                                 "chunks": built.chunks}
        index_s = built.seconds
    else:
        pipeline = Pipeline.open(args.index, embedder=embedder, create=False, **options)
        stats = pipeline.stats()
        index = {"dir": str(args.index), "cache_key": None, "cached": None, "build_s": None,
                 "documents": stats["documents"], "chunks": stats["chunks"]}
        index_s = time.perf_counter() - t0

    where = getattr(args, "where", None) or []
    scope = Scope(where=parse_where_args(where)) if where else None
    evaluation = Evaluator(dataset, k=args.k, mode=args.retrieval, progress=progress,
                           gold_passage=args.gold_passage, scope=scope).run(pipeline)
    config = {
        "qa": str(args.qa), "dataset_format": dataset.format, "dataset_sha256": dataset.sha256,
        "limit": args.limit, "corpus": args.corpus, "retrieval": args.retrieval, "gold_passage": args.gold_passage,
        "where": where, "k": list(evaluation.k),
        "retrieve_k": RETRIEVE_K, "rank_cutoff": RANK_CUTOFF, "model": embedder.name,
        "model_sha256": embedder.sha256, "chunking": pipeline.chunking.to_dict(),
        "sentence_vectors": pipeline.directory.settings.sentence_vectors,
        "answerer": _answerer_config(pipeline), "index": index,
        # timings mean little without the machine's load: other work on a 2-core box doubles latency
        "machine": {"cpus": os.cpu_count(), "loadavg_1m": [round(load_start, 2), round(os.getloadavg()[0], 2)]},
    }
    report = build_report(evaluation, config=config, index_build_s=index_s)

    out = Path(args.out)
    report_path = write_json(args.json or out / "report.json", report)
    write_scores(scores_path(report_path), evaluation)
    write_questions(out / "questions.jsonl", evaluation)
    seconds = time.perf_counter() - started
    history_path = Path(args.history or out / "history.jsonl")
    append_history(history_path, history_entry(report, seconds=seconds, commit=commit, dirty=dirty))

    notes = []
    few = evaluation.few_documents()
    if few:
        notes.append(f"{few} of {len(evaluation.results)} questions retrieved fewer than {max(evaluation.k)} "
                     f"distinct documents (from {RETRIEVE_K} passages)")
    status = 0
    baseline = None
    comparison_text = ""
    if args.baseline:
        baseline = read_report(args.baseline)
        comparison = compare_reports(report, baseline, current_scores=read_scores(scores_path(report_path)),
                                     baseline_scores=read_scores(scores_path(args.baseline)), max_drop=args.max_drop)
        comparison_text = markdown_comparison(comparison, baseline_name=str(args.baseline))
        status = 0 if comparison.ok else EXIT_REGRESSION
    if not args.no_plot:
        from eval.plots import plot_run

        same = [e for e in read_history(history_path) if e.get("dataset") == report["dataset"]
                and e.get("config", {}).get("retrieval") == args.retrieval
                and e.get("n_questions") == report["n_questions"]]
        png = plot_run(out / "eval.png", curve=recall_curve(evaluation.results, depth=max(max(evaluation.k), 20)),
                       label=f"{args.retrieval} ({report['dataset']})", history=same, baseline=baseline)
        notes.append(f"wrote {report_path}, {out / 'questions.jsonl'}, {png}; appended to {history_path}")
    else:
        notes.append(f"wrote {report_path}, {out / 'questions.jsonl'}; appended to {history_path}")
    stdout.write(markdown_summary(report, seconds=seconds, notes=notes))
    if comparison_text:
        stdout.write("\n" + comparison_text)
    stdout.flush()
    return status


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m eval`` (the same options as ``rag eval``)."""
    parser = argparse.ArgumentParser(prog="python -m eval",
                                     description="Score retrieval and answers against question-answer pairs.")
    parser.add_argument("--index", default=os.environ.get("RAG_INDEX_DIR") or ".rag-index", metavar="DIR",
                        help="the index to evaluate when the QA file is JSONL and no --corpus is given")
    parser.add_argument("--model", default=os.environ.get("RAG_MODEL_DIR"), metavar="DIR",
                        help="a local sentence-transformers model directory (default: the bundled all-MiniLM-L6-v2)")
    parser.add_argument("--reader", default=os.environ.get("RAG_READER_DIR") or None, metavar="DIR",
                        help="a reader directory (default: the shipped reader)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None, *, embedder: Embedder | None = None) -> int:
    from domain.errors import RagError

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return run(args, embedder=embedder)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
