"""scripts/heldout_eval.py on a tiny four-article SQuAD file with the fake embedder.

What it must get right: which half fits and which half is scored, that a fold's pieces never see
the other half, that its scoring is ``rag eval``'s, and that a rerun from --cache asks nothing.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from eval.cache import open_cached_index
from eval.datasets import load_squad
from eval.runner import Evaluator
from rag.hash_embedder import HashEmbedder

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "heldout_eval.py"

ARTICLES = {
    "Cats": [
        ("Cats are small carnivorous mammals. The domestic cat was first domesticated in the Near East around "
         "7500 BC.", [("Where was the domestic cat first domesticated?", "the Near East"),
                      ("When was the domestic cat first domesticated?", "around 7500 BC"),
                      ("What did dogs eat in 7500 BC?", None)]),
        ("Cats sleep for twelve to sixteen hours a day. Their whiskers help them find their way in the dark.",
         [("How many hours a day do cats sleep?", "twelve to sixteen hours"),
          ("What colour are the whiskers of lions?", None)]),
    ],
    "Rivers": [
        ("The Nile is the longest river in Africa. It flows north into the Mediterranean Sea.",
         [("Which sea does the Nile flow into?", "the Mediterranean Sea"),
          ("What is the longest river in Africa?", "The Nile"),
          ("How many bridges cross the Nile in Cairo?", None)]),
        ("The Amazon carries more water than any other river. It flows through Brazil and Peru.",
         [("Which river carries more water than any other river?", "The Amazon"),
          ("Which countries does the Amazon flow through?", "Brazil and Peru")]),
    ],
    "Solar_System": [
        ("Jupiter is the largest planet in the Solar System. Galileo Galilei discovered its four largest moons "
         "in 1610.", [("Who discovered the largest moons of Jupiter?", "Galileo Galilei"),
                      ("When were Jupiter's four largest moons discovered?", "1610"),
                      ("How many rings does Uranus have?", None)]),
        ("Mars is called the Red Planet because of the iron oxide on its surface.",
         [("Why is Mars called the Red Planet?", "the iron oxide on its surface"),
          ("Who named the first crater on Mars?", None)]),
    ],
    "Bread": [
        ("Bread is baked from a dough of flour and water. Yeast makes the dough rise by producing carbon "
         "dioxide.", [("What is bread baked from?", "a dough of flour and water"),
                      ("What does yeast produce?", "carbon dioxide"),
                      ("Which bakery sold the first sliced bread in Paris?", None)]),
        ("Sourdough bread was the usual leavened bread in ancient Egypt.",
         [("Where was sourdough the usual leavened bread?", "ancient Egypt"),
          ("How much did a loaf cost in Rome?", None)]),
    ],
}


def write_squad(path: Path, *, questions_of: set[str] | None = None) -> Path:
    """The articles as SQuAD 2.0; only ``questions_of``'s articles keep their questions (default all)."""
    data = []
    for title, paragraphs in ARTICLES.items():
        out = []
        for p, (context, qas) in enumerate(paragraphs):
            keep = questions_of is None or title in questions_of
            out.append({"context": context, "qas": [
                {"id": f"{title}-{p}-{q}", "question": question, "is_impossible": answer is None,
                 "answers": [] if answer is None else [{"text": answer, "answer_start": context.index(answer)}]}
                for q, (question, answer) in enumerate(qas) if keep]})
        data.append({"title": title, "paragraphs": out})
    path.write_text(json.dumps({"version": "v2.0", "data": data}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def heldout():
    spec = importlib.util.spec_from_file_location("heldout_eval", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def built(tmp_path):
    squad = write_squad(tmp_path / "tiny.json")
    dataset = load_squad(squad)
    index = open_cached_index(embedder=HashEmbedder(), documents=dataset.documents, cache_dir=tmp_path / "cache")
    return squad, dataset, index


def test_halvings(heldout):
    articles = ["d", "b", "a", "c", "e"]
    splits = heldout.halvings(articles, extra=3, seed=0)
    assert splits[0] == ({"a", "b"}, {"c", "d", "e"})  # sorted titles, first half / second half
    assert len({frozenset(pair) for pair in splits}) == 4
    for first, second in splits:
        assert not first & second and first | second == set(articles)
    assert splits == heldout.halvings(articles, extra=3, seed=0)
    with pytest.raises(ValueError):
        heldout.halvings(["a", "b", "c", "d"], extra=3)  # four articles have three halvings


def test_folds_fit_on_one_half_and_score_the_other(heldout, built, tmp_path):
    squad, dataset, index = built
    splits = heldout.halvings(list(ARTICLES), extra=1)
    cache = heldout.run_heldout(index.pipeline, dataset, squad, splits=splits, index_key=index.key,
                                cache_path=tmp_path / "heldout.json")
    ids_of = {title: {e.qid for e in dataset.examples if heldout.article_of(e) == title} for title in ARTICLES}
    for fit_on, score_on in (pair for halves in splits for pair in (halves, halves[::-1])):
        fold = cache["folds"][heldout.fold_key(fit_on)]
        assert fold["scored_on"] == sorted(score_on)
        assert {s["id"] for s in fold["signals"]} == set().union(*(ids_of[t] for t in fit_on))
        assert {r["qid"] for r in fold["results"]} == set().union(*(ids_of[t] for t in score_on))

    summary = heldout.summarize_heldout(cache, dataset, splits=splits, k=(1, 5, 10, 20), config={"retrieval": "hybrid"},
                                        index_build_s=0.0)
    n = len(dataset.examples)
    assert [s["report"]["n_questions"] for s in summary["halvings"]] == [n, n]
    assert summary["held_out"]["n_questions"] == 2 * n
    # The shipped figures are rag eval's own, whatever the held-out runs did to the pipeline in between.
    fresh = open_cached_index(embedder=HashEmbedder(), documents=dataset.documents, cache_dir=tmp_path / "cache")
    direct = Evaluator(dataset).run(fresh.pipeline).metrics
    for section in ("retrieval", "answer", "no_answer"):
        assert summary["shipped"][section] == {k: None if v is None else round(v, 4)
                                               for k, v in direct[section].items()}
    table = heldout.comparison_table(summary)
    assert "held out, halving 1 (random)" in table and "shipped (in-sample)" in table

    # A rerun with the cache asks nothing and reports the same.
    embedder = HashEmbedder()
    again = open_cached_index(embedder=embedder, documents=dataset.documents, cache_dir=tmp_path / "cache")
    calls = embedder.calls
    rerun = heldout.run_heldout(again.pipeline, dataset, squad, splits=splits, index_key=again.key,
                                cache_path=tmp_path / "heldout.json")
    assert embedder.calls == calls
    assert rerun == json.loads((tmp_path / "heldout.json").read_text())


def test_a_fold_never_sees_the_other_half(heldout, built, tmp_path):
    squad, dataset, index = built
    fit_on = frozenset({"Bread", "Cats"})
    # The same documents, but only fit_on's questions: the other half's questions must change nothing.
    alone = write_squad(tmp_path / "alone.json", questions_of=set(fit_on))
    alone_dataset = dataclasses.replace(load_squad(alone), documents=dataset.documents)
    folds = []
    for path, data in ((squad, dataset), (alone, alone_dataset)):
        training = heldout.collect_training(index.pipeline, data, path)
        folds.append(heldout.fit_fold(index.pipeline, data, training, fit_on, max_drop=0.025))
    assert folds[0] == folds[1]
    assert {s["article"] for s in folds[0]["signals"]} == fit_on
