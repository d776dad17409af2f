"""Does "how much of the question the answer's sentence covers" tell answerable from unanswerable
questions better than the no-answer model's confidence alone?

    .venv/bin/python scripts/measure_coverage_signal.py [--squad reader-data/squad2-dev-other.val.json]

Asks every question of the SQuAD file's own index (the one `rag eval` builds and caches) with the
shipped reader never abstaining, then compares, article by article held out (leave one article out),
a logistic model of "answerable" over the confidence's log-odds alone with the same plus lexical
coverage features of the top answer's sentence (the question's stemmed words, without the title's,
that the sentence has; how many it misses; question words inside the answer). The figure is the
one issue 22 targets: the most unanswerable questions abstained on while the answerable ones keep
has-answer F1 within 3 points of never abstaining. Nothing is fitted into the product here.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from eval import f1_score, load_dataset, max_over_golds, no_ans_acc_within, open_cached_index
from index import stemmed_terms as tokenize
from rag import DEFAULT_BACKEND, SentenceTransformerEmbedder

REPO = Path(__file__).resolve().parents[1]
FEATURES = ("log-odds", "coverage", "coverage without title words", "missing words", "missing words (at most 4)",
            "question words in the answer")


def features(question: str, title: str, sentence: str, answer: str, confidence: float) -> list[float]:
    asked, has, inside = set(tokenize(question)), set(tokenize(sentence)), set(tokenize(answer))
    untitled = asked - set(tokenize(title))
    p = min(max(confidence, 1e-6), 1 - 1e-6)
    missing = len(untitled - has)
    return [math.log(p / (1 - p)), len(asked & has) / max(1, len(asked)), len(untitled & has) / max(1, len(untitled)),
            missing, min(missing, 4), len(asked & inside) / max(1, len(asked))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad", type=Path, default=REPO / "reader-data" / "squad2-dev-other.val.json")
    parser.add_argument("--cache-dir", default=".eval-cache")
    args = parser.parse_args()
    dataset = load_dataset(args.squad)
    pipeline = open_cached_index(embedder=SentenceTransformerEmbedder(backend=DEFAULT_BACKEND),
                                 documents=dataset.documents, cache_dir=args.cache_dir).pipeline
    pipeline.answerer.threshold = 0.0  # never abstain: every question gets its top answer
    rows, answerable, f1, article = [], [], [], []
    for example in dataset.examples:
        result = pipeline.ask(example.question)
        top = result.answers[0] if result.answers else None
        rows.append(features(example.question, top.citation.title if top else "", top.sentence if top else "",
                             top.text if top else "", result.confidence))
        answerable.append(bool(example.answers))
        f1.append(max_over_golds(f1_score, top.text, example.answers) if top and example.answers else 0.0)
        article.append(example.gold_doc_ids[0].split("#")[0])
    X, y, f1s, articles = np.array(rows), np.array(answerable), np.array(f1), np.array(article)
    print(f"{len(y)} questions ({y.sum()} answerable), {len(set(article))} articles; "
          f"the shipped confidence itself: {no_ans_acc_within(X[:, 0], y, f1s, 3.0)[0]:.3f}")
    for name, columns in [("log-odds alone", [0])] + [(f"log-odds + {FEATURES[c]}", [0, c]) for c in range(1, 6)] \
            + [("log-odds + all", list(range(6)))]:
        held_out = np.zeros(len(y))
        for left_out in sorted(set(article)):
            test = articles == left_out
            model = LogisticRegression(max_iter=5000).fit(X[~test][:, columns], y[~test])
            held_out[test] = model.predict_proba(X[test][:, columns])[:, 1]
        print(f"{name:45s} no_ans_acc within 3 points, leave one article out: "
              f"{no_ans_acc_within(held_out, y, f1s, 3.0)[0]:.3f}")


if __name__ == "__main__":
    main()
