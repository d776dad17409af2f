from __future__ import annotations

import json
import logging

import pytest

from domain.errors import DocumentError
from rag.reader.squad import read_squad


def test_reads_answerable_and_unanswerable_and_drops_wrong_offsets(tmp_path, caplog) -> None:
    context = "The Rhine flows through Basel."
    body = {"data": [{"title": "Rhine", "paragraphs": [{"context": context, "qas": [
        {"id": "a", "question": "Through what?", "answers": [{"text": "Basel", "answer_start": 24}]},
        {"id": "b", "question": "Wrong offset?", "answers": [{"text": "Basel", "answer_start": 3}]},
        {"id": "c", "question": "Unanswerable?", "answers": [], "is_impossible": True},
    ]}]}]}
    path = tmp_path / "qa.json"
    path.write_text(json.dumps(body))
    with caplog.at_level(logging.WARNING):
        examples = read_squad(path)
    assert [e.qid for e in examples] == ["a", "c"]
    assert examples[0].answers == ((24, "Basel"),) and examples[0].title == "Rhine"
    assert not examples[1].answerable
    assert "1 answers" in caplog.text


def test_not_squad_is_a_document_error(tmp_path) -> None:
    path = tmp_path / "x.json"
    path.write_text("[1, 2]")
    with pytest.raises(DocumentError, match="not a SQuAD JSON file"):
        read_squad(path)
