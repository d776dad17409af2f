"""Integration: the real bundled model over ../shared data."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import AMBASSADOR_FILE, NEWS_DIR, REPO, SQUAD_FILE

pytestmark = pytest.mark.integration


def test_bundled_weights_are_the_official_ones(real_embedder):
    from rag.embed import DEFAULT_MODEL_SHA256

    assert real_embedder.sha256 == DEFAULT_MODEL_SHA256
    assert real_embedder.dimension == 384 and real_embedder.max_tokens == 256


def test_ambassador_question_is_answered_from_the_right_file_at_the_right_offsets(news_pipeline):
    result = news_pipeline.ask("Who is the Chinese ambassador to Norway?")
    assert not result.no_answer
    top = result.answers[0]
    assert "Hou Yue" in top.text
    assert top.citation.source == str(AMBASSADOR_FILE)
    original = AMBASSADOR_FILE.read_text(encoding="utf-8")
    assert original[top.citation.char_start:top.citation.char_end] == top.text
    assert top.text in top.sentence


@pytest.mark.parametrize(("question", "answer"), [
    ("Who is China's ambassador to Norway?", "Hou Yue"),
    ("When will the 7th CIIE take place?", "Nov.5-10, 2024"),
    ("Where will the 7th CIIE be held?", "Shanghai"),
])
def test_the_reader_gives_the_short_answer(news_pipeline, question, answer):
    """The questions a user tried before the reader (issue 12): a whole sentence or the wrong span."""
    result = news_pipeline.ask(question)
    assert not result.no_answer
    top = result.answers[0]
    assert top.text == answer and top.text in top.sentence
    assert AMBASSADOR_FILE.read_text(encoding="utf-8")[top.citation.char_start:top.citation.char_end] == answer


def test_off_topic_questions_get_no_answer(news_pipeline):
    for question in ("How do I bake sourdough bread?", "What is the airspeed of an unladen swallow?",
                     "Which programming language has the best garbage collector?"):
        assert news_pipeline.ask(question).no_answer, question


@pytest.fixture(scope="module")
def squad_pipeline(tmp_path_factory, real_embedder):
    from rag import Pipeline
    from rag.loaders import record_to_document

    data = json.loads(SQUAD_FILE.read_text(encoding="utf-8"))["data"]
    docs, questions = [], []
    for article in data[:2]:
        for i, para in enumerate(article["paragraphs"][:15]):
            docs.append(record_to_document({"id": f"{article['title']}#{i}", "title": article["title"],
                                            "text": para["context"]}, default_id="", source="squad"))
            questions += [qa["question"] for qa in para["qas"][:2]]
    pipeline = Pipeline.open(tmp_path_factory.mktemp("squad") / "index", embedder=real_embedder)
    pipeline.ingest_documents(docs)
    return pipeline, questions


def test_every_answer_to_dozens_of_questions_keeps_the_offset_contract(squad_pipeline):
    pipeline, questions = squad_pipeline
    assert len(questions) >= 40
    answered = 0
    for question in questions:
        result = pipeline.ask(question)
        for item in [*result.answers, *result.passages]:
            c = item.citation
            assert pipeline.document(c.doc_id).text[c.char_start:c.char_end] == item.text
        for answer in result.answers:
            assert answer.text in answer.sentence
            assert pipeline.document(answer.citation.doc_id).text[answer.sentence_start:answer.sentence_end] == answer.sentence
        answered += not result.no_answer
    assert answered >= len(questions) // 2


def test_cli_ingest_and_ask_json(tmp_path):
    env = {**os.environ, "RAG_INDEX_DIR": str(tmp_path / "idx")}
    rag = [sys.executable, "-m", "ragcli"]
    ingest = subprocess.run([*rag, "ingest", str(NEWS_DIR), "--json"], capture_output=True, text=True, env=env,
                            cwd=REPO, timeout=300)
    assert ingest.returncode == 0, ingest.stderr
    assert len(json.loads(ingest.stdout)["added"]) == 2
    ask = subprocess.run([*rag, "ask", "Who is the Chinese ambassador to Norway?", "--json"], capture_output=True,
                         text=True, env=env, cwd=REPO, timeout=300)
    assert ask.returncode == 0, ask.stderr
    body = json.loads(ask.stdout)
    assert "Hou Yue" in body["answers"][0]["text"] and body["no_answer"] is False
    listing = subprocess.run([*rag, "list", "--json"], capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    doc_id = body["answers"][0]["citation"]["doc_id"]
    assert doc_id in {d["doc_id"] for d in json.loads(listing.stdout)}
    show = subprocess.run([*rag, "show", doc_id, "--json"], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=300)
    assert json.loads(show.stdout)["text"] == AMBASSADOR_FILE.read_text(encoding="utf-8")
    missing = subprocess.run([*rag, "delete", "no-such-doc"], capture_output=True, text=True, env=env, cwd=REPO,
                             timeout=300)
    assert missing.returncode == 1 and "no document" in missing.stderr
