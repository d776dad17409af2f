"""Reading SQuAD JSON and JSONL question-answer files, and matching JSONL sources to documents."""
from __future__ import annotations

import json

import pytest

from eval.datasets import load_dataset, load_jsonl_qa, load_squad, match_source, with_gold_documents
from eval.errors import DatasetError
from tests.eval.conftest import PARAGRAPHS, QUESTIONS, squad_body


def test_squad_v2_paragraphs_become_documents(squad_file):
    dataset = load_squad(squad_file)
    assert dataset.format == "squad" and dataset.name == "tiny-squad.json"
    assert [d.doc_id for d in dataset.documents] == ["Cats#0", "Cats#1", "Rivers#0", "Rivers#1"]
    assert dataset.documents[2].text == PARAGRAPHS["Rivers"][0]
    assert dataset.documents[2].title == "Rivers"
    assert len(dataset.examples) == len(QUESTIONS)
    assert (dataset.n_answerable, dataset.n_unanswerable) == (5, 2)


def test_squad_questions_carry_their_paragraph_and_answers(squad_file):
    by_id = {e.qid: e for e in load_squad(squad_file).examples}
    assert by_id["q0"].gold_doc_ids == ("Cats#0",)
    assert by_id["q0"].answers == ("the Near East", "Near East")
    assert by_id["q5"].answers == () and not by_id["q5"].answerable
    assert by_id["q5"].gold_doc_ids == ("Rivers#1",)  # unanswerable, but written from that paragraph


def test_squad_titles_read_as_words_ids_keep_them(tmp_path):
    body = squad_body()
    body["data"][0]["title"] = "Big_Cats"
    path = tmp_path / "t.json"
    path.write_text(json.dumps(body))
    doc = load_squad(path).documents[0]
    assert (doc.doc_id, doc.title) == ("Big_Cats#0", "Big Cats")


def test_squad_v1_has_only_answerable_questions(tmp_path):
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(squad_body(version="1.1")))
    dataset = load_dataset(path)
    assert dataset.n_unanswerable == 0 and dataset.n_answerable == 5


def test_squad_impossible_questions_ignore_plausible_answers(tmp_path):
    body = squad_body()
    qa = body["data"][0]["paragraphs"][0]["qas"][-1]
    qa["plausible_answers"] = [{"text": "dogs", "answer_start": 0}]
    path = tmp_path / "v2.json"
    path.write_text(json.dumps(body))
    assert not {e.qid: e for e in load_squad(path).examples}[qa["id"]].answerable


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('{"version": "x"}', "no top-level \"data\" list"),
    ('{"data": [{"title": "T"}]}', "\"paragraphs\" list"),
    ('{"data": [{"title": "T", "paragraphs": [{"context": "Text.", "qas": []}]}]}', "no questions"),
    ('{"data": [{"title": "T", "paragraphs": [{"context": "Text.", "qas": [{"id": "a", "question": "Q?"},'
     ' {"id": "a", "question": "R?"}]}]}]}', "duplicate question id"),
])
def test_bad_squad_files_say_why(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(DatasetError, match=message):
        load_dataset(path)


def test_missing_file_is_a_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="cannot read"):
        load_dataset(tmp_path / "nope.json")


def test_jsonl_questions(qa_jsonl):
    dataset = load_dataset(qa_jsonl)
    assert dataset.format == "jsonl" and dataset.documents is None
    assert [e.qid for e in dataset.examples] == ["c1", "r1", "u1"]
    assert dataset.examples[0].source == "cats.txt" and dataset.examples[0].answers == ("Near East",)
    assert not dataset.examples[2].answerable and dataset.examples[2].source is None


@pytest.mark.parametrize("line, message", [
    ("[1, 2]", "must be a JSON object"),
    ('{"id": "a", "question": "", "answers": []}', "\"question\" must be a non-empty string"),
    ('{"id": "a", "question": "Q?", "answers": "x"}', "\"answers\" must be a list"),
    ('{"id": "a", "question": "Q?", "answers": [""]}', "\"answers\" must be a list"),
    ('{"question": "Q?", "answers": []}', "\"id\""),
    ('{"id": "a", "question": "Q?", "answers": [], "source": 3}', "\"source\""),
    ('{"id": "a", "question": "Q?"', "invalid JSON"),
])
def test_bad_jsonl_lines_name_the_line(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "ok", "question": "Q?", "answers": ["A"], "source": null}\n\n' + line + "\n")
    with pytest.raises(DatasetError, match=message) as caught:
        load_jsonl_qa(path)
    assert f"{path}:3:" in str(caught.value)


def test_jsonl_duplicate_ids_are_refused(tmp_path):
    path = tmp_path / "dup.jsonl"
    line = json.dumps({"id": "a", "question": "Q?", "answers": [], "source": None})
    path.write_text(line + "\n" + line + "\n")
    with pytest.raises(DatasetError, match="duplicate"):
        load_jsonl_qa(path)


@pytest.mark.parametrize("source, doc_source, expected", [
    ("cats.txt", "corpus/animals/cats.txt", True),          # a bare file name matches the file name
    ("cats.txt", "corpus/animals/dogs.txt", False),
    ("animals/cats.txt", "corpus/animals/cats.txt", True),  # trailing path components
    ("corpus/animals/cats.txt", "corpus/animals/cats.txt", True),
    ("./corpus/animals/cats.txt", "corpus/animals/cats.txt", True),
    ("other/cats.txt", "corpus/animals/cats.txt", False),
    ("mals/cats.txt", "corpus/animals/cats.txt", False),    # whole components only
])
def test_match_source(source, doc_source, expected):
    assert match_source(source, doc_source) is expected


def test_gold_documents_are_resolved_from_sources(qa_jsonl, caplog):
    docs = [("id-cats", "corpus/animals/cats.txt"), ("id-rivers", "corpus/rivers.md"),
            ("id-rivers-copy", "backup/rivers.md")]
    dataset = with_gold_documents(load_jsonl_qa(qa_jsonl), docs)
    gold = {e.qid: e.gold_doc_ids for e in dataset.examples}
    assert gold == {"c1": ("id-cats",), "r1": ("id-rivers",), "u1": ()}


def test_unmatched_sources_are_logged(qa_jsonl, caplog):
    dataset = with_gold_documents(load_jsonl_qa(qa_jsonl), [("x", "elsewhere/other.txt")])
    assert all(not e.gold_doc_ids for e in dataset.examples)
    assert "no indexed document comes from 'cats.txt'" in caplog.text


def test_limited_spreads_questions_evenly(squad_file):
    dataset = load_squad(squad_file)
    # file order is q0 q6 | q1 q2 | q3 | q4 q5; 3 of 7 → indices 0, 7//3, 14//3 = 0, 2, 4
    assert [e.qid for e in dataset.examples] == ["q0", "q6", "q1", "q2", "q3", "q4", "q5"]
    assert [e.qid for e in dataset.limited(3).examples] == ["q0", "q1", "q3"]
    assert dataset.limited(None) is dataset and dataset.limited(100) is dataset
    assert len(dataset.limited(3).documents) == 4  # still the whole collection
