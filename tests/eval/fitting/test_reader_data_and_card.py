"""The reader's article split, and a report's figures recorded in a reader's card."""
from __future__ import annotations

import json
import shutil

from eval.fitting.card import record_eval
from eval.fitting.reader_data import split_by_article, write_reader_split
from rag import DEFAULT_READER_DIR, read_card


def test_articles_alternate_between_training_and_validation(tmp_path):
    body = {"version": "v2.0", "data": [{"title": f"A{n}", "paragraphs": []} for n in range(5)]}
    parts = split_by_article(body)
    assert [a["title"] for a in parts["train"]["data"]] == ["A0", "A2", "A4"]
    assert [a["title"] for a in parts["val"]["data"]] == ["A1", "A3"]
    source = tmp_path / "dev-other.json"
    source.write_text(json.dumps(body), encoding="utf-8")
    written = write_reader_split(source, tmp_path / "out")
    assert {name: p.name for name, p in written.items()} == {"train": "dev-other.train.json", "val": "dev-other.val.json"}
    assert json.loads(written["val"].read_text(encoding="utf-8")) == parts["val"]


def test_a_report_is_recorded_in_the_card_beside_what_was_there(tmp_path):
    reader = tmp_path / "reader"
    reader.mkdir()
    shutil.copy(DEFAULT_READER_DIR / "card.json", reader / "card.json")
    before = read_card(reader)
    report = {"dataset": "tiny.json", "n_questions": 7, "answer": {"f1": 0.5}, "no_answer": {"accuracy": 1.0},
              "retrieval": {"recall@5": 1.0}, "squad2": {"f1": 60.0},
              "config": {"retrieval": "hybrid", "dataset_sha256": "ab", "model": "m", "sentence_vectors": "late"}}
    assert record_eval(report, reader) == "tiny.json (open-domain, hybrid)"
    card = read_card(reader)
    entry = card["eval"]["tiny.json (open-domain, hybrid)"]
    assert entry["dataset_sha256"] == "ab" and entry["squad2"] == {"f1": 60.0} and entry["retrieval"] == {"recall@5": 1.0}
    assert {k: v for k, v in card.items() if k != "eval"} == {k: v for k, v in before.items() if k != "eval"}
    assert set(before.get("eval", {})) < set(card["eval"])
    gold = {**report, "config": {**report["config"], "gold_passage": True}}
    assert record_eval(gold, reader, "mine") == "mine" and read_card(reader)["eval"]["mine"]["retrieval"] is None
