"""Tiny QA fixtures written to tmp_path: a SQuAD v2.0 file, a corpus of text files and a JSONL file."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

PARAGRAPHS = {
    "Cats": [
        "Cats are small carnivorous mammals. The domestic cat was first domesticated in the Near East "
        "around 7500 BC.",
        "Cats sleep for twelve to sixteen hours a day. Their whiskers help them find their way in the dark.",
    ],
    "Rivers": [
        "The Nile is the longest river in Africa. It flows north into the Mediterranean Sea.",
        "The Amazon carries more water than any other river. It flows through Brazil and Peru.",
    ],
}
# (paragraph, question, answers); no answers = unanswerable
QUESTIONS = [
    ("Cats#0", "Where was the domestic cat first domesticated?", ["the Near East", "Near East"]),
    ("Cats#1", "How many hours a day do cats sleep?", ["twelve to sixteen hours", "twelve to sixteen"]),
    ("Cats#1", "What do whiskers help cats find in the dark?", ["their way"]),
    ("Rivers#0", "Which sea does the Nile flow into?", ["the Mediterranean Sea"]),
    ("Rivers#1", "Which river carries more water than any other river?", ["The Amazon"]),
    ("Rivers#1", "How many fish live in the Amazon river?", []),
    ("Cats#0", "What did dogs eat in 7500 BC?", []),
]


def squad_body(*, version: str = "v2.0") -> dict:
    data = []
    for title, paragraphs in PARAGRAPHS.items():
        out = []
        for i, context in enumerate(paragraphs):
            qas = []
            for n, (doc_id, question, answers) in enumerate(QUESTIONS):
                if doc_id != f"{title}#{i}":
                    continue
                qa = {"id": f"q{n}", "question": question,
                      "answers": [{"text": a, "answer_start": context.find(a)} for a in answers]}
                if version == "v2.0":
                    qa["is_impossible"] = not answers
                elif not answers:
                    continue
                qas.append(qa)
            out.append({"context": context, "qas": qas})
        data.append({"title": title, "paragraphs": out})
    return {"version": version, "data": data}


@pytest.fixture
def squad_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny-squad.json"
    path.write_text(json.dumps(squad_body()), encoding="utf-8")
    return path


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    (folder / "animals").mkdir(parents=True)
    (folder / "animals" / "cats.txt").write_text(" ".join(PARAGRAPHS["Cats"]) + "\n", encoding="utf-8")
    (folder / "rivers.md").write_text("# Rivers\n\n" + "\n\n".join(PARAGRAPHS["Rivers"]) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def qa_jsonl(tmp_path: Path) -> Path:
    lines = [
        {"id": "c1", "question": "Where was the domestic cat first domesticated?", "answers": ["Near East"],
         "source": "cats.txt"},
        {"id": "r1", "question": "Which sea does the Nile flow into?", "answers": ["Mediterranean Sea"],
         "source": "corpus/rivers.md"},
        {"id": "u1", "question": "What colour are penguin eggs?", "answers": [], "source": None},
    ]
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    return path
