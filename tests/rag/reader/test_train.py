"""Training on a tiny set: the reader directory, its card, checkpoints and an exact resume."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors import safe_open

from rag.provenance import file_sha256
from rag.reader.model_dir import WORD_EMBEDDINGS, load_torch_reader, read_card
from rag.reader.runtime import Reader
from rag.reader.train import CHECKPOINT, TrainSettings, bucketed_batches, train_reader, training_pairs
from rag.reader.squad import read_squad

PARAGRAPHS = [
    ("Rhine", "The Rhine rises in the Swiss Alps and flows north through Basel, Cologne and Rotterdam. "
              "It is about 1,230 kilometres long.",
     [("Where does the Rhine rise?", "the Swiss Alps"), ("How long is the Rhine?", "about 1,230 kilometres")]),
    ("Rhine", "Barges on the Rhine carry coal, grain and containers between Rotterdam and Basel.",
     [("What do barges carry?", "coal, grain and containers")]),
    ("Oxygen", "Oxygen was discovered by Carl Wilhelm Scheele in 1771 and by Joseph Priestley in 1774.",
     [("Who discovered oxygen in 1774?", "Joseph Priestley"), ("When did Scheele find oxygen?", "1771")]),
]


@pytest.fixture
def qa_file(tmp_path: Path) -> Path:
    articles: dict[str, list] = {}
    for title, context, qas in PARAGRAPHS:
        articles.setdefault(title, []).append({"context": context, "qas": [
            {"id": f"{title}-{len(articles[title])}-{n}", "question": q,
             "answers": [{"text": a, "answer_start": context.index(a)}]} for n, (q, a) in enumerate(qas)]})
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps({"version": "v2.0", "data": [{"title": t, "paragraphs": p} for t, p in articles.items()]}))
    return path


def settings(qa_file: Path, out: Path, **kw) -> TrainSettings:
    return TrainSettings(qa_files=[qa_file], out=out, epochs=2, batch_size=2, max_length=64, stride=16,
                         bf16=False, negatives=1.0, command=["test"], **kw)


def test_negatives_come_from_other_paragraphs_of_the_article(qa_file: Path) -> None:
    pairs = training_pairs(read_squad(qa_file), negatives=1.0, seed=0)
    negatives = [p for p in pairs if p[2] is None]
    assert negatives, "the Rhine questions have another Rhine paragraph to be asked against"
    for question, context, _ in negatives:
        assert question.startswith(("Where does", "How long", "What do"))  # Oxygen has one paragraph
        source = next(c for _, c, qas in PARAGRAPHS if any(q == question for q, _ in qas))
        assert context != source


def test_bucketed_batches_cover_every_example_once_and_follow_the_seed() -> None:
    lengths = [5, 90, 7, 64, 33, 12, 80, 3, 41]
    batches = bucketed_batches(lengths, batch_size=2, seed=3)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert batches == bucketed_batches(lengths, batch_size=2, seed=3)
    assert batches != bucketed_batches(lengths, batch_size=2, seed=4)


def test_training_writes_a_reader_with_its_card(qa_file: Path, tmp_path: Path) -> None:
    out = train_reader(settings(qa_file, tmp_path / "reader"), progress=False)
    card = read_card(out)
    assert card["data"] == [{"path": str(qa_file), "sha256": file_sha256(qa_file)}]
    assert card["steps"] == card["planned_steps"] > 0 and card["seed"] == 13 and card["command"] == ["test"]
    assert card["word_embeddings"] == "encoder" and card["weights_sha256"] == file_sha256(out / "reader.safetensors")
    assert {"cpu", "cores", "device"} <= set(card["machine"])
    with safe_open(str(out / "reader.safetensors"), framework="pt") as weights:
        assert WORD_EMBEDDINGS not in set(weights.keys())
    assert not (out / CHECKPOINT).exists()
    reader = Reader(out, cache_dir=tmp_path / "cache")
    context = PARAGRAPHS[2][1]
    spans, null = reader.read("Who discovered oxygen?", [context])
    assert spans[0] and all(context[s.start:s.end] for s in spans[0]) and null.shape == (1,)


def test_a_stopped_run_resumes_to_the_same_weights(qa_file: Path, tmp_path: Path) -> None:
    import torch

    straight = train_reader(settings(qa_file, tmp_path / "straight"), progress=False)
    stopped = train_reader(settings(qa_file, tmp_path / "stopped", stop_after_steps=2), progress=False)
    assert (stopped / CHECKPOINT).is_file() and not (stopped / "card.json").exists()
    resumed = train_reader(settings(qa_file, tmp_path / "stopped", resume=True), progress=False)
    assert read_card(resumed)["steps"] == read_card(straight)["steps"]
    a, b = load_torch_reader(straight).state_dict(), load_torch_reader(resumed).state_dict()
    assert all(torch.allclose(a[name], b[name], atol=1e-3) for name in a)


def test_the_command_line_trains_stops_and_resumes(qa_file: Path, tmp_path: Path, capsys) -> None:
    from ragcli.main import main

    out = tmp_path / "cli-reader"
    common = ["train-reader", "--out", str(out), "--no-progress"]
    assert main([*common, "--qa", str(tmp_path / "missing.json")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main([*common, "--qa", str(qa_file), "--batch-size", "4", "--max-length", "64", "--stop-after", "1"]) == 0
    assert "--resume" in capsys.readouterr().out and not (out / "card.json").exists()
    assert main([*common, "--resume"]) == 0
    card = read_card(out)
    assert card["steps"] == card["planned_steps"] and card["settings"]["batch_size"] == 4


def test_a_reader_fine_tuned_from_a_base_starts_with_its_no_answer_model(qa_file: Path, tmp_path: Path) -> None:
    base = train_reader(settings(qa_file, tmp_path / "base"), progress=False)
    (base / "no_answer.json").write_text('{"weights": {}, "bias": 0.0, "threshold": 0.5}')
    tuned = train_reader(settings(qa_file, tmp_path / "tuned", base=base), progress=False)
    assert (tuned / "no_answer.json").read_text() == (base / "no_answer.json").read_text()
    assert "refit it" in read_card(tuned)["no_answer"]



def test_a_fine_tuned_reader_records_its_base_and_the_base_lineage(qa_file: Path, tmp_path: Path) -> None:
    base = train_reader(settings(qa_file, tmp_path / "base"), progress=False)
    tuned = train_reader(settings(qa_file, tmp_path / "tuned", base=base, answer_removed=1.0), progress=False)
    card, base_card = read_card(tuned), read_card(base)
    assert card["base"]["path"] == str(base) and card["base"]["weights_sha256"] == base_card["weights_sha256"]
    assert card["base"]["base"] is None and card["base"]["command"] == ["test"]
    assert card["commit_dirty"] in (True, False, None)  # None outside a git checkout
    kinds = card["pairs_by_kind_before_sampling"]
    assert kinds["answerable"] == 5 and kinds["answer_removed"] >= 1 and card["settings"]["answer_removed"] == 1.0


def test_a_reader_finished_early_records_the_commit_and_base_its_run_started_from(qa_file: Path, tmp_path: Path,
                                                                                   monkeypatch) -> None:
    from rag.provenance import git_commit
    from rag.reader import train
    from rag.reader.model_dir import write_card

    base = train_reader(settings(qa_file, tmp_path / "base"), progress=False)
    base_sha = read_card(base)["weights_sha256"]
    out = train_reader(settings(qa_file, tmp_path / "tuned", base=base, stop_after_steps=1), progress=False)
    # meanwhile the code moves on and the base directory is replaced by another reader
    monkeypatch.setattr(train, "git_commit", lambda: ("a-later-commit", False))
    write_card(base, {**read_card(base), "weights_sha256": "another"})
    card = read_card(train.finish_from_checkpoint(out))
    assert card["commit"] == git_commit()[0] and card["finished_at_commit"] == "a-later-commit"
    assert card["base"]["weights_sha256"] == base_sha and card["stopped_early"] is True
