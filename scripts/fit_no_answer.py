"""Fit the answerer's evidence weight and the no-answer model of a reader, on training data only.

    .venv/bin/python scripts/fit_no_answer.py [--squad reader-data/squad2-dev-other.val.json]
        [--reader DIR] [--max-drop 2.5]

The data is the validation half of ``../shared/train/squad2-dev-other.json`` (written by
``scripts/prepare_reader_data.py``; the reader never trained on it): real SQuAD 2.0 questions with
real unanswerable ones, over an index of its paragraphs built exactly as ``rag eval`` builds one.
The public split is never read. It fits, in order:

1. ``ranker_weight``: how much the sentence ranker's log-odds add to the reader's margin when
   ordering answers, by the top answer's F1 on answerable questions (a small grid).
2. The open-domain no-answer model: a logistic model of "answerable" over the signals of the best
   answer; its threshold is the highest that costs at most ``--max-drop`` points of has-answer F1.
3. The reading threshold (``rag eval --gold-passage``, ``Pipeline.read``): the reader's margin
   below which it says "no answer", maximizing SQuAD 2.0 F1 over the validation questions asked of
   their own paragraph.

Writes ``DIR/no_answer.json`` with the precision/recall curve of the abstention and provenance.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from eval.cache import open_cached_index  # noqa: E402
from eval.datasets import load_dataset  # noqa: E402
from eval.metrics import exact_match, f1_score, max_over_golds  # noqa: E402
from rag.answer import NO_ANSWER_FILE, SIGNALS, NoAnswerModel  # noqa: E402
from rag.pipeline import DEFAULT_BACKEND  # noqa: E402
from rag.embed import SentenceTransformerEmbedder  # noqa: E402
from rag.reader.model_dir import DEFAULT_READER_DIR, read_card, write_card  # noqa: E402
from eval.fitting import provenance  # noqa: E402

GRID = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0)


def collect(pipeline, examples, *, progress: bool = True) -> list[dict]:
    """Every question asked once, recording every answer the reader proposed with its evidence."""
    from tqdm import tqdm

    answerer = pipeline.answerer
    answerer.max_answers = 10
    answerer.threshold = 0.0
    recorded: dict = {}
    inner = answerer.guesses

    def recording(*args, **kwargs):
        found, guesses, signals = inner(*args, **kwargs)
        recorded["rows"] = [{"margin": g.margin, "span": g.span, "ranker": g.ranker,
                             "sentence": float(found.similarity[g.sentence]) if g.sentence is not None else 0.0,
                             "text": g.chunk.text[g.start - g.chunk.char_start:g.end - g.chunk.char_start]}
                            for g in guesses]
        recorded["fixed"] = {k: signals[k] for k in ("ranker_top", "fused", "fused_gap")} if signals else {}
        return found, guesses, signals

    answerer.guesses = recording
    items = []
    for e in tqdm(examples, desc="open-domain", disable=not progress, mininterval=2):
        recorded.clear()
        pipeline.ask(e.question)
        rows = recorded.get("rows", [])
        for row in rows:
            row["f1"] = max_over_golds(f1_score, row["text"], e.answers) if e.answers else 0.0
        items.append({"answers": list(e.answers), "rows": rows, "fixed": recorded.get("fixed", {})})
    answerer.guesses = inner
    return items


def best_row(item: dict, weight: float) -> dict | None:
    if not item["rows"]:
        return None
    return max(item["rows"], key=lambda r: r["margin"] + weight * r["ranker"])


def signals_of(item: dict, weight: float) -> dict[str, float] | None:
    row = best_row(item, weight)
    if row is None:
        return None
    return {"margin": row["margin"], "span": row["span"], "ranker": row["ranker"], "sentence": row["sentence"],
            **item["fixed"]}


def fit_weight(items: list[dict]) -> tuple[float, dict[float, float]]:
    answerable = [i for i in items if i["answers"]]
    f1 = {w: float(np.mean([(best_row(i, w) or {"f1": 0.0})["f1"] for i in answerable])) for w in GRID}
    return max(f1, key=lambda w: (f1[w], -w)), f1


def fit_no_answer(items: list[dict], weight: float, max_drop: float) -> tuple[NoAnswerModel, list[dict]]:
    usable = [(i, s) for i in items if (s := signals_of(i, weight)) is not None]
    X = np.array([[s[n] for n in SIGNALS] for _, s in usable])
    y = np.array([bool(i["answers"]) for i, _ in usable])
    lr = LogisticRegression(C=1.0, max_iter=5000).fit(X, y)
    weights = dict(zip(SIGNALS, lr.coef_[0].round(5).tolist(), strict=True))
    bias = round(float(lr.intercept_[0]), 5)
    model = NoAnswerModel(weights, bias, 0.0)
    conf = np.array([model.confidence(s) for _, s in usable])
    f1 = np.array([best_row(i, weight)["f1"] if i["answers"] else 0.0 for i, _ in usable])
    n_has = int(y.sum())
    never = 100.0 * f1[y].sum() / n_has
    curve, best = [], 0.0
    for t in np.unique(np.round(conf, 4)):
        keep = conf >= t
        has_f1 = 100.0 * (f1 * keep)[y].sum() / n_has
        abstained = ~keep
        curve.append({"threshold": float(t), "has_ans_f1": round(float(has_f1), 2),
                      "no_ans_acc": round(float(abstained[~y].mean()), 4),
                      "precision": round(float((~y & abstained).sum() / max(1, abstained.sum())), 4)})
        if never - has_f1 <= max_drop:
            best = float(t)
    step = max(1, len(curve) // 40)
    return NoAnswerModel(weights, bias, best), [c for n, c in enumerate(curve) if n % step == 0]


def collect_reading(pipeline, examples, *, progress: bool = True) -> list[dict]:
    from tqdm import tqdm

    from dataclasses import replace

    pipeline.answerer.no_answer = replace(pipeline.answerer.no_answer, reading_threshold=-1e9)
    items = []
    for e in tqdm(examples, desc="gold passage", disable=not progress, mininterval=2):
        result = pipeline.read(e.question, e.gold_doc_ids[0])
        top = result.answers[0].text if result.answers else ""
        items.append({"answerable": bool(e.answers), "margin": result.signals.get("margin", -1e9),
                      "f1": max_over_golds(f1_score, top, e.answers) if e.answers else 0.0,
                      "em": max_over_golds(exact_match, top, e.answers) if e.answers else 0.0})
    return items


def reading_figures(items: list[dict], threshold: float) -> dict[str, float]:
    """The SQuAD 2.0 script's figures (0-100) of the gold-passage answers at ``threshold``."""
    has = [i for i in items if i["answerable"]]
    no = [i for i in items if not i["answerable"]]
    def answered(i):  # noqa: E306
        return i["margin"] >= threshold
    has_em = [i["em"] * answered(i) for i in has]
    has_f1 = [i["f1"] * answered(i) for i in has]
    no_ok = [float(not answered(i)) for i in no]
    return {"exact": round(100 * (sum(has_em) + sum(no_ok)) / len(items), 2),
            "f1": round(100 * (sum(has_f1) + sum(no_ok)) / len(items), 2), "total": len(items),
            "HasAns_exact": round(100 * float(np.mean(has_em)), 2), "HasAns_f1": round(100 * float(np.mean(has_f1)), 2),
            "HasAns_total": len(has), "NoAns_exact": round(100 * float(np.mean(no_ok)), 2) if no else None,
            "NoAns_total": len(no)}


def fit_reading_threshold(items: list[dict]) -> tuple[float, float]:
    margins = np.array([i["margin"] for i in items])
    y = np.array([i["answerable"] for i in items])
    f1 = np.array([i["f1"] for i in items])
    best_t, best = 0.0, -1.0
    for t in np.unique(np.round(margins, 3)):
        answer = margins >= t
        score = float(np.where(y, f1 * answer, ~answer).mean())
        if score > best:
            best_t, best = float(t), score
    return best_t, 100.0 * best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad", type=Path, default=REPO / "reader-data" / "squad2-dev-other.val.json")
    parser.add_argument("--reader", type=Path, default=DEFAULT_READER_DIR)
    parser.add_argument("--offtopic", type=Path, default=REPO / "eval" / "data" / "offtopic.jsonl")
    parser.add_argument("--max-drop", type=float, default=2.5, help="has-answer F1 points abstention may cost")
    parser.add_argument("--cache-dir", default=".eval-cache")
    parser.add_argument("--limit", type=int, help="use only N questions (a quick check; the fit needs them all)")
    args = parser.parse_args()
    dataset = load_dataset(args.squad).limited(args.limit)
    embedder = SentenceTransformerEmbedder(backend=DEFAULT_BACKEND)
    built = open_cached_index(embedder=embedder, documents=dataset.documents, cache_dir=args.cache_dir,
                              reader_dir=args.reader)
    pipeline = built.pipeline
    items = collect(pipeline, dataset.examples)
    weight, by_weight = fit_weight(items)
    print("has-answer F1 of the top answer by ranker_weight:", {w: round(v, 4) for w, v in by_weight.items()})
    model, curve = fit_no_answer(items, weight, args.max_drop)
    print(f"ranker_weight {weight}; no-answer threshold {model.threshold:.4f}")
    for point in curve:
        print(point)
    reading = collect_reading(pipeline, dataset.examples)
    reading_threshold, reading_f1 = fit_reading_threshold(reading)
    print(f"reading threshold {reading_threshold:.3f}: SQuAD 2.0 F1 {reading_f1:.2f} on {args.squad.name}")
    offtopic = [json.loads(line)["question"] for line in args.offtopic.read_text().splitlines() if line.strip()]
    pipeline.answerer.no_answer = model
    pipeline.answerer.threshold = model.threshold
    pipeline.answerer.ranker_weight = weight
    pipeline.answerer.max_answers = 3
    off = float(np.mean([pipeline.ask(q).no_answer for q in offtopic]))
    print(f"off-topic questions abstained on (this index): {off:.3f}")
    final = NoAnswerModel(model.weights, model.bias, model.threshold, reading_threshold=round(reading_threshold, 4),
                          ranker_weight=weight)
    about = provenance([args.squad, args.offtopic], embedder={"name": embedder.name, "sha256": embedder.sha256},
                       features=SIGNALS,
                       reader_weights_sha256=json.loads((args.reader / "card.json").read_text())["weights_sha256"],
                       ranker_weight=weight, has_ans_f1_by_ranker_weight=by_weight, max_drop_f1_points=args.max_drop,
                       curve=curve, reading_squad2_f1=round(reading_f1, 2), offtopic_abstained=off)
    final.save(args.reader / NO_ANSWER_FILE, about=about)
    print(f"wrote {args.reader / NO_ANSWER_FILE}")
    figures = reading_figures(reading, reading_threshold)
    never = reading_figures(reading, -1e9)
    print(f"gold passage at the fitted threshold: {figures}; never abstaining: HasAns_f1 {never['HasAns_f1']}")
    card = read_card(args.reader)
    card.setdefault("eval", {})[f"{args.squad.name} (gold passage, threshold fitted on it)"] = {
        "dataset_sha256": about["data"][0]["sha256"], "squad2": figures, "HasAns_f1_never_abstaining": never["HasAns_f1"]}
    write_card(args.reader, card)


if __name__ == "__main__":
    main()
