"""Would reading the retrieved paragraphs whole tell "the answer is here" from "only the topic is here"
better than the sentence windows the answerer reads? Measured on training data, never the public split.

    .venv/bin/python scripts/measure_paragraph_null.py [--squad reader-data/squad2-dev-other.val.json]
        [--reader DIR] [--limit N]

Every question is asked once over the index of its paragraphs (as ``Pipeline.ask`` does), keeping the
open-domain no-answer signals (:data:`rag.NO_ANSWER_SIGNALS`) and the top answer's F1, never abstaining;
then the reader reads the top passage, and the top three passages, whole (``Answerer.read_chunks``) and
their best margin (span score minus that paragraph's no-answer score) is one more signal. A logistic
no-answer model is fitted with and without it, two-fold by article (each half scored by the model fitted
on the other), and the script prints how many unanswerable questions each abstains on while costing at
most 3 (and 2.5) points of has-answer F1, with the extra reading's time per question.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from eval import f1_score, load_dataset, max_over_golds, no_ans_acc_within, open_cached_index, recording
from rag import DEFAULT_BACKEND, NO_ANSWER_SIGNALS, SentenceTransformerEmbedder

REPO = Path(__file__).resolve().parents[1]
EXTRA = ("paragraph_top", "paragraph_top3")


def collect(pipeline, examples) -> list[dict]:
    def keep(answerer, question, vector, chunks, sentences, fused_scores):
        t0 = time.perf_counter()
        _, guesses, signals = answerer.guesses(question, vector, chunks, sentences, fused_scores=fused_scores)
        t1 = time.perf_counter()
        top = answerer.read_chunks(question, chunks[:1], sentences).signals.get("margin", -50.0)
        t2 = time.perf_counter()
        top3 = answerer.read_chunks(question, chunks, sentences).signals.get("margin", -50.0)
        t3 = time.perf_counter()
        text = guesses[0].text if guesses else ""
        return signals, text, {"paragraph_top": top, "paragraph_top3": top3}, (t1 - t0, t2 - t1, t3 - t2)

    rows = []
    with recording(pipeline, keep) as recorder:
        for e in examples:
            pipeline.ask(e.question)
            signals, text, extra, seconds = recorder.last
            if not signals:
                continue
            rows.append({"article": e.gold_doc_ids[0].split("#")[0], "answerable": bool(e.answers),
                         "f1": max_over_golds(f1_score, text, e.answers) if e.answers else 0.0,
                         "x": {**signals, **extra}, "seconds": seconds})
    return rows


def held_out_confidence(rows: list[dict], names: tuple[str, ...]) -> np.ndarray:
    """Each row's P(answerable) from a logistic model fitted on the other half of the articles."""
    from sklearn.linear_model import LogisticRegression

    articles = sorted({r["article"] for r in rows})
    half = {a: i % 2 for i, a in enumerate(np.random.default_rng(0).permutation(articles).tolist())}
    fold = np.array([half[r["article"]] for r in rows])
    X = np.array([[r["x"][n] for n in names] for r in rows])
    y = np.array([r["answerable"] for r in rows])
    conf = np.zeros(len(rows))
    for f in (0, 1):
        model = LogisticRegression(C=1.0, max_iter=5000).fit(X[fold != f], y[fold != f])
        conf[fold == f] = model.predict_proba(X[fold == f])[:, 1]
    return conf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad", type=Path, default=REPO / "reader-data" / "squad2-dev-other.val.json")
    parser.add_argument("--reader", default=None, help="a reader directory (default: the shipped one)")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--cache-dir", default=".eval-cache")
    args = parser.parse_args()
    dataset = load_dataset(args.squad).limited(args.limit)
    pipeline = open_cached_index(embedder=SentenceTransformerEmbedder(backend=DEFAULT_BACKEND),
                                 documents=dataset.documents, cache_dir=args.cache_dir,
                                 **({"reader_dir": args.reader} if args.reader else {})).pipeline
    rows = collect(pipeline, dataset.examples)
    y, f1 = np.array([r["answerable"] for r in rows]), np.array([r["f1"] for r in rows])
    print(f"{len(rows)} questions of {args.squad.name} ({int(y.sum())} answerable), "
          f"reader {pipeline.answerer.reader.name}")
    ms = 1000 * np.array([r["seconds"] for r in rows])
    for i, what in enumerate(("sentence windows (as now)", "+ top passage whole", "+ top 3 passages whole")):
        print(f"  {what:<26} p50 {np.percentile(ms[:, i], 50):6.1f} ms  p95 {np.percentile(ms[:, i], 95):6.1f} ms")
    for label, names in (("signals as now", NO_ANSWER_SIGNALS),
                         ("+ top passage's margin", (*NO_ANSWER_SIGNALS, "paragraph_top")),
                         ("+ top 3 passages' margin", (*NO_ANSWER_SIGNALS, "paragraph_top3")),
                         ("top passage's margin alone", ("paragraph_top",))):
        conf = held_out_confidence(rows, tuple(names))
        figures = "  ".join(f"within {d} F1 points: no_ans_acc {a:.3f} (has-answer F1 {f:.1f})"
                            for d in (3.0, 2.5) for a, f in [no_ans_acc_within(conf, y, f1, d)])
        print(f"{label:<28} {figures}", flush=True)


if __name__ == "__main__":
    main()
