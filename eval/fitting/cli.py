"""``rag fit ...``: the commands that write what the product learns, each with its provenance.

    rag fit split            the reader's training / validation halves of squad2-dev-other
    rag fit fusion           rag/models/fusion_weights.json
    rag fit sentence-ranker  rag/models/sentence_ranker.json
    rag fit no-answer        <reader>/no_answer.json (and its figures in the reader's card)
    rag fit record-eval      a `rag eval` report's figures in the reader's card

``bash scripts/refit_all.sh`` runs them, and the reader's training, in the order they depend on each
other. They fit on ``../shared/train`` (beside the checkout), never on the public split.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_fit_commands"]

_REPO = Path(__file__).resolve().parents[2]
TRAIN_DIR = _REPO.parent / "shared" / "train"
DEV_OTHER = TRAIN_DIR / "squad2-dev-other.json"  # SQuAD 2.0 dev articles the public split does not hold
READER_DATA = _REPO / "reader-data"
OFFTOPIC = _REPO / "eval" / "data" / "offtopic.jsonl"


def _open(args: argparse.Namespace, squad: Path, **options: Any):
    """The dataset and its index, built (or taken from the cache) exactly as ``rag eval`` builds it."""
    from eval.cache import open_cached_index
    from eval.datasets import load_dataset
    from rag import DEFAULT_BACKEND, SentenceTransformerEmbedder

    dataset = load_dataset(squad).limited(getattr(args, "limit", None))
    embedder = SentenceTransformerEmbedder(args.model, backend=args.backend or DEFAULT_BACKEND)
    return dataset, open_cached_index(embedder=embedder, documents=dataset.documents, cache_dir=args.cache_dir,
                                      **options).pipeline


def _show(name: str, figures: dict[str, float]) -> None:
    print(f"{name:44s} " + "  ".join(f"{k} {v:.4f}" for k, v in figures.items()))


def _rounded(figures: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in figures.items()}


def cmd_split(args: argparse.Namespace) -> int:
    from eval.fitting.reader_data import write_reader_split

    for name, path in write_reader_split(args.source, args.out).items():
        body = json.loads(path.read_text(encoding="utf-8"))
        questions = sum(len(p["qas"]) for a in body["data"] for p in a["paragraphs"])
        print(f"{name}: {path}: {len(body['data'])} articles, {questions} questions")
    return 0


def cmd_fusion(args: argparse.Namespace) -> int:
    from eval.fitting.fusion import SEED, collect_pools, fit_fusion
    from eval.fitting.provenance import embedder_about, provenance
    from rag import DEFAULT_FUSION_FILE, FUSION_SIGNALS, write_model_file

    out = args.out or DEFAULT_FUSION_FILE
    dataset, pipeline = _open(args, args.squad)
    pools = collect_pools(pipeline, dataset.examples)
    fit = fit_fusion(pools, splits=args.splits, seed=SEED)
    for n, weights in enumerate(fit.per_split):
        print(f"split {n // 2}, half {n % 2}: fitted {weights}")
    _show("held out, weights fitted on the other half", fit.held_out)
    _show("same questions, equal weights", fit.held_out_equal_weights)
    _show(f"all articles (in-sample) {fit.weights}", fit.in_sample)
    about = provenance([args.squad], embedder=embedder_about(pipeline), seed=SEED, features=FUSION_SIGNALS,
                       questions=len(pools), splits=args.splits, held_out=_rounded(fit.held_out),
                       held_out_equal_weights=_rounded(fit.held_out_equal_weights))
    write_model_file(out, {"weights": fit.weights, "about": about})
    print(f"wrote {out}")
    return 0


CANDIDATES_FORMAT = "sentence-ranker/1"


def cmd_sentence_ranker(args: argparse.Namespace) -> int:
    import numpy as np

    from eval.fitting.provenance import embedder_about, provenance
    from eval.fitting.sentence_ranker import (COSINE_ONLY, candidate_features, collect_candidates, fit_ranker,
                                              held_out, score_ranker)
    from rag import DEFAULT_SENTENCE_MODEL, SENTENCE_FEATURES, fusion_weights

    out = args.out or DEFAULT_SENTENCE_MODEL
    dataset, pipeline = _open(args, args.squad)
    if args.candidates and args.candidates.exists():
        body = json.loads(args.candidates.read_text(encoding="utf-8"))
        if body.get("format") != CANDIDATES_FORMAT:
            print(f"error: {args.candidates} was written by another version; delete it to collect again", file=sys.stderr)
            return 2
        items = body["items"]
    else:
        items = collect_candidates(pipeline, dataset.examples)
        if args.candidates:
            args.candidates.write_text(json.dumps({"format": CANDIDATES_FORMAT, "items": items}), encoding="utf-8")
    X = [candidate_features(item) for item in items]
    n_candidates = sum(len(item["candidates"]) for item in items)
    print(f"{len(items)} answerable questions, {n_candidates} candidate sentences "
          f"({sum(c['label'] for item in items for c in item['candidates'])} hold a gold answer); a gold answer is in "
          f"some candidate for {np.mean([any(c['label'] for c in i['candidates']) for i in items]):.3f}")
    baseline = {k: float(np.mean(v)) for k, v in score_ranker(COSINE_ONLY, X, items).items()}
    figures = held_out(X, items)
    print("held out (article-level 2-fold CV), how often the top 1 / 3 / 4 sentences hold a gold answer:")
    _show("similarity alone (before)", baseline)
    _show("sentence ranker", figures)
    if args.ablate:
        for name in SENTENCE_FEATURES:
            if name != "bias":
                _show(f"  without {name}", held_out(X, items, tuple(n for n in SENTENCE_FEATURES if n != name)))
    final = fit_ranker(X, items)
    final.save(out, about=provenance(
        [args.squad], embedder=embedder_about(pipeline), features=SENTENCE_FEATURES, fusion_weights=fusion_weights(),
        questions=len(items), candidates=n_candidates, held_out=_rounded(figures), similarity_alone=_rounded(baseline)))
    print(f"wrote {out}: {final.weights}")
    return 0


def cmd_no_answer(args: argparse.Namespace) -> int:
    import numpy as np

    from eval.fitting.no_answer import (NEVER, collect_guesses, collect_reading, fit_no_answer, fit_ranker_weight,
                                        fit_reading_threshold, reading_figures)
    from eval.fitting.provenance import embedder_about, provenance
    from rag import (DEFAULT_READER_DIR, NO_ANSWER_FILE, NO_ANSWER_SIGNALS, NoAnswerModel, read_card, read_model_file,
                     write_card)

    reader = Path(args.reader or DEFAULT_READER_DIR)
    if args.reading_only and not (reader / NO_ANSWER_FILE).is_file():
        print(f"error: --reading-only keeps the answer weighting and open-domain threshold of {reader / NO_ANSWER_FILE}, "
              "which does not exist: fit them too (without --reading-only)", file=sys.stderr)
        return 2
    dataset, pipeline = _open(args, args.squad, reader_dir=reader)
    progress = not args.no_progress
    kept = None
    if args.reading_only:  # a few hundred examples refit these badly (docs/feedback.md): keep them
        model = NoAnswerModel.for_reader(reader)
        kept = read_model_file(reader / NO_ANSWER_FILE).get("about")  # how the kept part was fitted
        weight, by_weight, curve = model.ranker_weight, None, None
        print(f"kept ranker_weight {weight} and the no-answer threshold {model.threshold:.4f} of {reader / NO_ANSWER_FILE}")
    else:
        items = collect_guesses(pipeline, dataset.examples, progress=progress)
        weight, by_weight = fit_ranker_weight(items)
        print("has-answer F1 of the top answer by ranker_weight:", {w: round(v, 4) for w, v in by_weight.items()})
        model, curve = fit_no_answer(items, weight, args.max_drop)
        print(f"ranker_weight {weight}; no-answer threshold {model.threshold:.4f}")
        for point in curve:
            print(point)
    reading = collect_reading(pipeline, dataset.examples, progress=progress)
    reading_threshold, reading_f1 = fit_reading_threshold(reading)
    print(f"reading threshold {reading_threshold:.3f}: SQuAD 2.0 F1 {reading_f1:.2f} on {args.squad.name}")
    final = NoAnswerModel(model.weights, model.bias, model.threshold, reading_threshold=round(reading_threshold, 4),
                          ranker_weight=weight)
    offtopic = [json.loads(line)["question"] for line in args.offtopic.read_text(encoding="utf-8").splitlines()
                if line.strip()]
    answerer = pipeline.answerer
    answerer.no_answer, answerer.threshold, answerer.ranker_weight = final, final.threshold, weight
    off = float(np.mean([pipeline.ask(q).no_answer for q in offtopic]))
    print(f"off-topic questions abstained on (this index): {off:.3f}")
    about = provenance([args.squad, args.offtopic], embedder=embedder_about(pipeline), features=NO_ANSWER_SIGNALS,
                       reader_weights_sha256=read_card(reader)["weights_sha256"], ranker_weight=weight,
                       has_ans_f1_by_ranker_weight=by_weight, max_drop_f1_points=args.max_drop, curve=curve,
                       reading_squad2_f1=round(reading_f1, 2), offtopic_abstained=off,
                       refitted="the reading threshold only" if args.reading_only else "everything",
                       **({"kept_from": kept} if kept is not None else {}))
    final.save(reader / NO_ANSWER_FILE, about=about)
    print(f"wrote {reader / NO_ANSWER_FILE}")
    figures, never = reading_figures(reading, reading_threshold), reading_figures(reading, NEVER)
    print(f"gold passage at the fitted threshold: {figures}; never abstaining: HasAns_f1 {never['HasAns_f1']}")
    card = read_card(reader)
    if not args.reading_only:
        card.pop("no_answer", None)  # the note that it was copied from a base: refitted now (its file says how)
    card.setdefault("eval", {})[f"{args.squad.name} (gold passage, threshold fitted on it)"] = {
        "dataset_sha256": about["data"][0]["sha256"], "squad2": figures, "HasAns_f1_never_abstaining": never["HasAns_f1"]}
    write_card(reader, card)
    return 0


def cmd_record_eval(args: argparse.Namespace) -> int:
    from eval.fitting.card import record_eval
    from rag import DEFAULT_READER_DIR

    reader = Path(args.reader or DEFAULT_READER_DIR)
    name = record_eval(json.loads(args.report.read_text(encoding="utf-8")), reader, args.name)
    print(f"added {name!r} to {reader / 'card.json'}")
    return 0


def add_fit_commands(parser: argparse.ArgumentParser) -> None:
    """The ``fit`` subcommands, each with its ``handler``."""
    from eval.cli import DEFAULT_CACHE_DIR  # not eval.cache: building the `rag` parser must not load rag/

    commands = parser.add_subparsers(dest="fit_command", required=True, metavar="WHAT")

    def command(name: str, handler, help: str) -> argparse.ArgumentParser:
        p = commands.add_parser(name, help=help, description=help)
        p.set_defaults(handler=handler)
        return p

    def fitted_on(p: argparse.ArgumentParser, default: Path) -> None:
        p.add_argument("--squad", type=Path, default=default, metavar="FILE",
                       help=f"SQuAD-format training data, never the public split (default: {default})")
        p.add_argument("--cache-dir", default=DEFAULT_CACHE_DIR, metavar="DIR",
                       help="where `rag eval` caches its index builds (the same index is used)")

    p = command("split", cmd_split, "split squad2-dev-other by article into the reader's training and validation halves")
    p.add_argument("--source", type=Path, default=DEV_OTHER, metavar="FILE", help=f"default: {DEV_OTHER}")
    p.add_argument("--out", type=Path, default=READER_DATA, metavar="DIR", help=f"default: {READER_DATA}")

    p = command("fusion", cmd_fusion, "fit the hybrid retriever's fusion weights (grid, held-out article halves)")
    fitted_on(p, DEV_OTHER)
    p.add_argument("--splits", type=int, default=3, help="random halvings of the articles (default 3)")
    p.add_argument("--out", type=Path, metavar="FILE", help="default: the shipped rag/models/fusion_weights.json")

    p = command("sentence-ranker", cmd_sentence_ranker,
                "fit the sentence ranker (logistic, held-out article halves)")
    fitted_on(p, DEV_OTHER)
    p.add_argument("--candidates", type=Path, metavar="FILE",
                   help="keep the collected candidate sentences here (and reuse them on the next run)")
    p.add_argument("--ablate", action="store_true", help="also print the held-out figures without each feature")
    p.add_argument("--out", type=Path, metavar="FILE", help="default: the shipped rag/models/sentence_ranker.json")

    p = command("no-answer", cmd_no_answer,
                "fit a reader's answer weighting and no-answer thresholds (written into the --reader directory)")
    fitted_on(p, READER_DATA / "squad2-dev-other.val.json")
    p.add_argument("--offtopic", type=Path, default=OFFTOPIC, metavar="FILE",
                   help="questions the documents cannot answer, to report how often they are abstained on")
    p.add_argument("--max-drop", type=float, default=2.5, help="has-answer F1 points abstention may cost (default 2.5)")
    p.add_argument("--limit", type=int, metavar="N", help="use only N questions (a quick check; a fit needs them all)")
    p.add_argument("--reading-only", action="store_true",
                   help="refit only the threshold for reading one given document; keep the reader's answer "
                        "weighting and open-domain threshold (for a few hundred examples, e.g. feedback)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")

    p = command("record-eval", cmd_record_eval, "record a `rag eval` report's figures in the --reader directory's card")
    p.add_argument("report", type=Path, metavar="REPORT.json", help="a report written by `rag eval`")
    p.add_argument("--name", help="the entry's name (default: the dataset and mode)")
