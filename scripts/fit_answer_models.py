"""Fit the span scorer (rag/models/span_model.json) on SQuAD 2.0, with article-level cross-validation.

    .venv/bin/python scripts/fit_answer_models.py [--squad FILE] [--out rag/models/span_model.json]

For every answerable question, the candidates of its gold sentence are labelled by whether they
match a gold answer (SQuAD F1 >= 0.5). The script fits on five articles and reports span F1/EM on
the other five, then swaps; the figures it prints are those held-out ones. The shipped weights are
then fitted on all ten articles.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from eval.metrics import exact_match, f1_score, max_over_golds  # noqa: E402
from rag.sentences import split_sentences  # noqa: E402
from rag.spans import DEFAULT_SPAN_MODEL, SpanModel, candidate_features, load_nlp, question_type, span_candidates  # noqa: E402


def examples(squad: Path):
    """(article, question, gold answers, question doc, sentence doc) for each answerable question."""
    nlp = load_nlp()
    data = json.loads(squad.read_text(encoding="utf-8"))["data"]
    rows, sentences, keys = [], [], {}
    for article in data:
        for para in article["paragraphs"]:
            context = para["context"]
            spans = split_sentences(context)
            for qa in para["qas"]:
                if qa.get("is_impossible"):
                    continue
                start = qa["answers"][0]["answer_start"]
                span = next(((a, b) for a, b in spans if a <= start < b), None)
                if span is None:
                    continue
                text = context[span[0]:span[1]]
                keys.setdefault(text, len(keys))
                rows.append((article["title"], qa["question"], [a["text"] for a in qa["answers"]], keys[text]))
    sentence_docs = list(nlp.pipe(list(keys)))
    question_docs = list(nlp.pipe([r[1] for r in rows]))
    for (title, question, golds, key), qdoc in zip(rows, question_docs, strict=True):
        yield title, question, golds, qdoc, sentence_docs[key]


def featurize(items):
    X, y, owner, texts = [], [], [], []
    for n, (_, question, golds, qdoc, sdoc) in enumerate(items):
        spans = span_candidates(sdoc)
        if spans:
            X.extend(candidate_features(qdoc, question_type(question), sdoc, spans))
        for span in spans:
            y.append(max_over_golds(f1_score, span.text, golds) >= 0.5)
            owner.append(n)
            texts.append(span.text)
    return np.array(X), np.array(y), np.array(owner), texts


def fit(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    model = LogisticRegression(C=1.0, max_iter=3000, fit_intercept=False).fit(X, y)
    return model.coef_[0].astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad", type=Path, default=REPO.parent / "shared" / "eval" / "squad2-dev-public.json")
    parser.add_argument("--out", type=Path, default=DEFAULT_SPAN_MODEL)
    args = parser.parse_args()
    items = list(examples(args.squad))
    X, y, owner, texts = featurize(items)
    articles = sorted({it[0] for it in items})
    folds = [articles[: len(articles) // 2], articles[len(articles) // 2:]]
    held_out = defaultdict(list)
    for fold in folds:
        train = np.array([items[o][0] in fold for o in owner])
        weights = fit(X[train], y[train])
        for n, item in enumerate(items):
            if item[0] in fold:
                continue
            rows = np.where(owner == n)[0]
            if len(rows) == 0:
                held_out["f1"].append(0.0)
                held_out["em"].append(0.0)
                continue
            best = texts[rows[np.argmax(SpanModel(weights).score(X[rows]))]]
            held_out["f1"].append(max_over_golds(f1_score, best, item[2]))
            held_out["em"].append(max_over_golds(exact_match, best, item[2]))
    print(f"held-out span F1 {np.mean(held_out['f1']):.3f}, EM {np.mean(held_out['em']):.3f} "
          f"on {len(held_out['f1'])} answerable questions, given the gold sentence (article-level 2-fold CV)")
    SpanModel(fit(X, y)).save(args.out, about={
        "fitted_on": str(args.squad.name), "questions": len(items),
        "held_out_span_f1_given_gold_sentence": round(float(np.mean(held_out["f1"])), 4),
        "held_out_span_em_given_gold_sentence": round(float(np.mean(held_out["em"])), 4)})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
