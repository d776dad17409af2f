"""``rag fit ...`` end to end with the real model on a tiny SQuAD file: each command writes a file the
product loads, with its provenance."""
from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from rag import DEFAULT_READER_DIR, NO_ANSWER_SIGNALS, SENTENCE_FEATURES, NoAnswerModel, SentenceRanker, read_card
from rag import FUSION_SIGNALS, fusion_weights
from ragcli.main import main

pytestmark = pytest.mark.integration


def _run(argv: list[str], monkeypatch) -> int:
    monkeypatch.setattr("sys.argv", ["rag", *argv])  # what the console script sees
    return main(argv)


def _check_provenance(about: dict, squad_file, features, argv: list[str]) -> None:
    assert about["command"] == ["rag", *argv]
    assert about["commit"] is None or len(about["commit"]) == 40
    assert about["data"][0] == {"path": str(squad_file), "sha256": hashlib.sha256(squad_file.read_bytes()).hexdigest()}
    assert about["embedder"]["weights_sha256"] == "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    assert about["embedder"]["name"].startswith("sentence-transformers/all-MiniLM-L6-v2")
    assert about["features"] == list(features)


def test_each_fit_writes_a_loadable_file_with_its_provenance(tmp_path, squad_file, monkeypatch, capsys):
    cache = ["--cache-dir", str(tmp_path / "cache")]
    fusion_args = ["fit", "fusion", "--squad", str(squad_file), "--out", str(tmp_path / "fusion.json"), *cache]
    assert _run(fusion_args, monkeypatch) == 0
    body = json.loads((tmp_path / "fusion.json").read_text(encoding="utf-8"))
    _check_provenance(body["about"], squad_file, FUSION_SIGNALS, fusion_args)
    assert body["about"]["seed"] == 0 and set(body["about"]["held_out"]) == {"recall@1", "recall@5", "mrr@10"}
    assert set(fusion_weights(tmp_path / "fusion.json")) == set(FUSION_SIGNALS)

    candidates = tmp_path / "candidates.json"
    ranker_args = ["fit", "sentence-ranker", "--squad", str(squad_file), "--out", str(tmp_path / "ranker.json"),
                   "--candidates", str(candidates), *cache]
    assert _run(ranker_args, monkeypatch) == 0
    ranker = SentenceRanker.load(tmp_path / "ranker.json")
    about = json.loads((tmp_path / "ranker.json").read_text(encoding="utf-8"))["about"]
    _check_provenance(about, squad_file, SENTENCE_FEATURES, ranker_args)
    assert about["questions"] == 5 and set(ranker.weights) == set(SENTENCE_FEATURES)
    assert _run(ranker_args, monkeypatch) == 0 and SentenceRanker.load(tmp_path / "ranker.json") == ranker  # from the kept candidates

    reader = tmp_path / "reader"
    shutil.copytree(DEFAULT_READER_DIR, reader)
    no_answer_args = ["--reader", str(reader), "fit", "no-answer", "--squad", str(squad_file), "--no-progress", *cache]
    assert _run(no_answer_args, monkeypatch) == 0
    model = NoAnswerModel.for_reader(reader)
    assert set(model.weights) == set(NO_ANSWER_SIGNALS) and 0.0 <= model.threshold <= 1.0
    about = json.loads((reader / "no_answer.json").read_text(encoding="utf-8"))["about"]
    _check_provenance(about, squad_file, NO_ANSWER_SIGNALS, no_answer_args)
    assert about["reader_weights_sha256"] == read_card(reader)["weights_sha256"]
    assert "tiny-squad.json (gold passage, threshold fitted on it)" in read_card(reader)["eval"]
    out = capsys.readouterr().out
    assert "held out, weights fitted on the other half" in out and "no-answer threshold" in out

    # --reading-only: the open-domain part stays as it was, with how it was fitted; the reading threshold is refitted
    shipped = NoAnswerModel.for_reader(DEFAULT_READER_DIR)
    reading = tmp_path / "reading"
    shutil.copytree(DEFAULT_READER_DIR, reading)
    reading_args = ["--reader", str(reading), "fit", "no-answer", "--squad", str(squad_file), "--no-progress",
                    "--reading-only", *cache]
    assert _run(reading_args, monkeypatch) == 0
    refitted = NoAnswerModel.for_reader(reading)
    assert (refitted.weights, refitted.bias, refitted.threshold, refitted.ranker_weight) == (
        shipped.weights, shipped.bias, shipped.threshold, shipped.ranker_weight)
    about = json.loads((reading / "no_answer.json").read_text(encoding="utf-8"))["about"]
    assert about["refitted"] == "the reading threshold only" and about["kept_from"]["data"]
    (reading / "no_answer.json").unlink()
    assert _run(reading_args, monkeypatch) == 2  # nothing to keep: a clear error
    assert "does not exist" in capsys.readouterr().err


def test_the_split_command_writes_both_halves(tmp_path, squad_file):
    assert main(["fit", "split", "--source", str(squad_file), "--out", str(tmp_path / "halves")]) == 0
    train = json.loads((tmp_path / "halves" / "tiny-squad.train.json").read_text(encoding="utf-8"))
    val = json.loads((tmp_path / "halves" / "tiny-squad.val.json").read_text(encoding="utf-8"))
    assert [a["title"] for a in train["data"]] == ["Cats"] and [a["title"] for a in val["data"]] == ["Rivers"]


def test_a_missing_data_file_is_a_clear_error(tmp_path, capsys):
    assert main(["fit", "fusion", "--squad", str(tmp_path / "nope.json"), "--out", str(tmp_path / "f.json")]) != 0
    assert "nope.json" in capsys.readouterr().err and not (tmp_path / "f.json").exists()
