"""Fit the abstention model (rag/models/no_answer.json) on SQuAD 2.0, with article-level cross-validation.

    .venv/bin/python scripts/fit_no_answer.py [--squad FILE] [--max-drop 0.025]

Builds an index of the split's paragraphs, asks every question once with abstention switched off,
and records the signals the answerer computes. A logistic model of "answerable" is fitted on five
articles; its threshold is the highest one that costs at most ``--max-drop`` of contains_gold on
those articles' answerable questions. Both are then scored on the other five articles (and the
swap): those held-out figures are what the script prints. The shipped model is fitted on all ten.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from eval.datasets import load_dataset  # noqa: E402
from eval.metrics import contains_answer  # noqa: E402
from rag import Pipeline  # noqa: E402
from rag.answer import DEFAULT_NO_ANSWER_MODEL, SIGNALS, Answerer, NoAnswerModel  # noqa: E402
from rag.spans import SpanExtractor  # noqa: E402


def collect(squad: Path, offtopic: Path, index_dir: Path) -> tuple[list[dict], list[dict]]:
    # The documents exactly as `rag eval` indexes them (titles with spaces, the same ids).
    dataset = load_dataset(squad)
    questions = [{"question": e.question, "article": e.gold_doc_ids[0].split("#")[0], "answers": list(e.answers),
                  "answerable": bool(e.answers)} for e in dataset.examples]
    pipeline = Pipeline.open(index_dir)
    pipeline.answerer = Answerer(spans=SpanExtractor(), no_answer_threshold=0.0)
    pipeline.ingest_documents(dataset.documents)
    off = [json.loads(line) for line in offtopic.read_text().splitlines() if line.strip()]
    return ask_all(pipeline, questions), ask_all(pipeline, [{"question": o["question"], "answers": []} for o in off])


def ask_all(pipeline: Pipeline, items: list[dict]) -> list[dict]:
    """Ask each item's question; record the answerer's signals and whether the top answer contains a
    gold one. The pipeline's answerer should not abstain (``no_answer_threshold=0``)."""
    for item in items:
        result = pipeline.ask(item["question"])
        item["signals"] = result.signals
        top = result.answers[0].text if result.answers else ""
        item["correct"] = bool(item["answers"]) and bool(contains_answer(top, item["answers"]))
    return items


def matrix(items: list[dict]) -> np.ndarray:
    return np.array([[item["signals"][name] for name in SIGNALS] for item in items], dtype=float)


def fit(items: list[dict], max_drop: float) -> NoAnswerModel:
    X, y = matrix(items), np.array([item["answerable"] for item in items])
    lr = LogisticRegression(C=1.0, max_iter=2000).fit(X, y)
    model = NoAnswerModel(dict(zip(SIGNALS, lr.coef_[0].round(5).tolist(), strict=True)),
                          round(float(lr.intercept_[0]), 5), 0.0)
    conf = np.array([model.confidence(item["signals"]) for item in items])
    answerable = y.astype(bool)
    correct = np.array([item["correct"] for item in items]) & answerable
    # The highest threshold whose lost correct answers stay within the budget.
    best = 0.0
    for t in np.unique(conf):
        if (correct & (conf < t)).sum() / answerable.sum() <= max_drop:
            best = float(t)
    return NoAnswerModel(model.weights, model.bias, best)


def score(model: NoAnswerModel, items: list[dict]) -> dict[str, float]:
    abstain = np.array([model.confidence(item["signals"]) < model.threshold for item in items])
    answerable = np.array([item["answerable"] for item in items])
    correct = np.array([item["correct"] for item in items])
    return {"contains_gold_never_abstaining": float(correct[answerable].mean()),
            "contains_gold": float((correct & ~abstain)[answerable].mean()),
            "no_ans_acc": float(abstain[~answerable].mean()),
            "answerable_abstained": float(abstain[answerable].mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad", type=Path, default=REPO.parent / "shared" / "eval" / "squad2-dev-public.json")
    parser.add_argument("--offtopic", type=Path, default=REPO / "eval" / "data" / "offtopic.jsonl")
    parser.add_argument("--max-drop", type=float, default=0.025)
    parser.add_argument("--out", type=Path, default=DEFAULT_NO_ANSWER_MODEL)
    parser.add_argument("--signals", type=Path, help="reuse (or save) the collected signals here")
    args = parser.parse_args()
    if args.signals and args.signals.exists():
        items, off = json.loads(args.signals.read_text())
    else:
        with tempfile.TemporaryDirectory() as tmp:
            items, off = collect(args.squad, args.offtopic, Path(tmp) / "index")
        if args.signals:
            args.signals.write_text(json.dumps([items, off]))
    articles = sorted({item["article"] for item in items})
    folds = [set(articles[: len(articles) // 2]), set(articles[len(articles) // 2:])]
    held_out = []
    for fold in folds:
        model = fit([i for i in items if i["article"] in fold], args.max_drop)
        figures = score(model, [i for i in items if i["article"] not in fold])
        figures["offtopic_abstained"] = float(np.mean([model.confidence(o["signals"]) < model.threshold for o in off]))
        held_out.append(figures)
        print("fit on", sorted(fold), "held out:", {k: round(v, 3) for k, v in figures.items()})
    mean = {k: round(float(np.mean([h[k] for h in held_out])), 4) for k in held_out[0]}
    print("held-out mean:", mean)
    final = fit(items, args.max_drop)
    final.save(args.out, about={"fitted_on": args.squad.name, "max_drop": args.max_drop, "held_out": mean})
    print(f"wrote {args.out}: {final}")


if __name__ == "__main__":
    main()
