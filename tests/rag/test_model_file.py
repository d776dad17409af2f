"""The one reader and writer of fitted model files."""
from __future__ import annotations

import json

import pytest

from rag import ModelError, read_model_file, write_model_file
from rag.answer import NoAnswerModel
from rag.retrieve import fusion_weights
from rag.sentence_rank import SentenceRanker


def test_a_written_file_reads_back_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "deep" / "model.json"
    write_model_file(path, {"weights": {"a": 1.5}, "about": {"seed": 3}})
    assert read_model_file(path, required=("weights",)) == {"weights": {"a": 1.5}, "about": {"seed": 3}}
    assert [p.name for p in path.parent.iterdir()] == ["model.json"]


@pytest.mark.parametrize(("text", "message"), [(None, "cannot read"), ("{not json", "cannot read"),
                                               ("[1, 2]", "JSON object"), ('{"about": {}}', "lacks weights")])
def test_a_missing_or_damaged_file_is_a_model_error_naming_it(tmp_path, text, message):
    path = tmp_path / "model.json"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ModelError, match=message) as caught:
        read_model_file(path, required=("weights",))
    assert str(path) in str(caught.value)


def test_every_fitted_model_goes_through_it(tmp_path):
    ranker = SentenceRanker({"cosine": 1.0, "bias": -0.5})
    ranker.save(tmp_path / "ranker.json", about={"seed": 1})
    assert SentenceRanker.load(tmp_path / "ranker.json") == ranker
    model = NoAnswerModel({"margin": 0.5}, -1.0, 0.3, reading_threshold=2.0, ranker_weight=0.5)
    model.save(tmp_path / "no_answer.json")
    assert NoAnswerModel.load(tmp_path / "no_answer.json") == model
    write_model_file(tmp_path / "fusion.json", {"weights": {"dense": 1.0, "sentence": 1.0, "lexical": 1.0}})
    assert fusion_weights(tmp_path / "fusion.json")["dense"] == 1.0
    (tmp_path / "bad.json").write_text(json.dumps({"weights": {}}), encoding="utf-8")
    with pytest.raises(ModelError, match="lacks bias, threshold"):
        NoAnswerModel.load(tmp_path / "bad.json")

