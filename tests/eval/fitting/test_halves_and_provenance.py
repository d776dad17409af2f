"""The shared pieces of the fitting commands: held-out halves of articles, and provenance."""
from __future__ import annotations

import hashlib
import random

import pytest

from eval.fitting.halves import article_halves, split_items
from eval.fitting.provenance import embedder_about, provenance


def test_without_a_seed_the_sorted_halves_are_used_both_ways_round():
    assert article_halves(["d", "a", "c", "b", "a"]) == [({"a", "b"}, {"c", "d"}), ({"c", "d"}, {"a", "b"})]


def test_seeded_splits_partition_the_articles_and_repeat_exactly():
    articles = [f"article-{n}" for n in range(19)]
    pairs = article_halves(articles, splits=3, seed=0)
    assert len(pairs) == 6 and pairs == article_halves(reversed(articles), splits=3, seed=0)
    for fit_on, score_on in pairs:
        assert not fit_on & score_on and fit_on | score_on == set(articles)
        assert {len(fit_on), len(score_on)} == {9, 10}
    assert len({frozenset(fit_on) for fit_on, _ in pairs}) > 2  # the splits differ
    rng = random.Random(0)  # the halving the fusion-weight fit has always used
    shuffled = sorted(articles)
    rng.shuffle(shuffled)
    assert pairs[0][0] == set(shuffled[:9])


@pytest.mark.parametrize(("articles", "options"), [(["only"], {}), (["a", "b"], {"splits": 2})])
def test_what_cannot_be_halved_is_an_error(articles, options):
    with pytest.raises(ValueError):
        article_halves(articles, **options)


def test_provenance_names_the_command_commit_data_seed_and_features(tmp_path):
    data = tmp_path / "train.json"
    data.write_bytes(b'{"data": []}')
    about = provenance([data], embedder={"name": "m", "sha256": "ab"}, seed=7, features=["a", "b"],
                       command=["fit", "--x"], questions=3)
    assert about["command"] == ["fit", "--x"] and about["seed"] == 7 and about["features"] == ["a", "b"]
    assert about["data"] == [{"path": str(data), "sha256": hashlib.sha256(b'{"data": []}').hexdigest()}]
    assert about["embedder"] == {"name": "m", "sha256": "ab"} and about["questions"] == 3
    assert about["commit"] is None or len(about["commit"]) == 40


def test_split_items_keeps_each_item_with_its_article():
    items = [("a", 1), ("b", 2), ("a", 3), ("c", 4), ("d", 5)]
    pairs = split_items(items, lambda item: item[0])
    assert pairs == [([("a", 1), ("b", 2), ("a", 3)], [("c", 4), ("d", 5)]),
                     ([("c", 4), ("d", 5)], [("a", 1), ("b", 2), ("a", 3)])]


def test_the_embedder_block_names_the_model_its_weights_and_the_index_settings(pipeline):
    about = embedder_about(pipeline)
    assert about["name"] == pipeline.embedder.name and about["sha256"] == pipeline.embedder.sha256
    assert about["sentence_vectors"] == pipeline.directory.settings.sentence_vectors
