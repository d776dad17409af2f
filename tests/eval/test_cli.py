"""`python -m eval` and `rag eval` end to end, with the fake embedder passed in."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import eval.cli as cli
from eval.cli import EXIT_REGRESSION, main, parse_k, run
from rag import Pipeline
from tests.conftest import REPO


def _run(argv, embedder, capsys) -> tuple[int, str]:
    status = main(argv, embedder=embedder)
    return status, capsys.readouterr().out


def test_squad_end_to_end(squad_file, tmp_path, fake_embedder, capsys):
    out = tmp_path / "out"
    argv = ["--qa", str(squad_file), "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--k", "1,2,4"]
    status, stdout = _run(argv, fake_embedder, capsys)
    assert status == 0
    assert "| retrieval | recall@1 | recall@2 | recall@4 | mrr@10 | ndcg@10 |" in stdout
    report = json.loads((out / "report.json").read_text())
    assert report["n_questions"] == 7 and report["config"]["retrieval"] == "hybrid"
    assert report["config"]["index"]["cached"] is False and report["config"]["k"] == [1, 2, 4]
    assert report["answer"]["citation_valid"] == 1.0
    assert (out / "report.scores.json").is_file()
    assert len((out / "questions.jsonl").read_text().splitlines()) == 7
    assert (out / "eval.png").read_bytes()[:4] == b"\x89PNG"

    calls = fake_embedder.calls
    status, stdout = _run(argv + ["--retrieval", "bm25"], fake_embedder, capsys)
    assert status == 0 and "(cached" in stdout
    again = json.loads((out / "report.json").read_text())
    assert again["config"]["index"]["cached"] is True and again["config"]["retrieval"] == "bm25"
    assert fake_embedder.calls - calls <= 7  # the questions' own embeddings only: no document re-embedded
    history = [json.loads(x) for x in (out / "history.jsonl").read_text().splitlines()]
    assert [h["config"]["retrieval"] for h in history] == ["hybrid", "bm25"]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    assert [h["git_commit"] for h in history] == [head or None] * 2 and all(h["time"] for h in history)


def test_baseline_gate(squad_file, tmp_path, fake_embedder, capsys):
    common = ["--qa", str(squad_file), "--cache-dir", str(tmp_path / "cache"), "--no-plot"]
    baseline = tmp_path / "baseline.json"
    assert main([*common, "--out", str(tmp_path / "a"), "--json", str(baseline)], embedder=fake_embedder) == 0
    assert (tmp_path / "baseline.scores.json").is_file()
    capsys.readouterr()

    status, stdout = _run([*common, "--out", str(tmp_path / "b"), "--baseline", str(baseline)], fake_embedder, capsys)
    assert status == 0 and "gate: pass" in stdout
    assert "| **retrieval.recall@5** |" in stdout and "1.000 |" in stdout  # identical runs: p = 1

    doctored = json.loads(baseline.read_text())
    doctored["answer"]["contains_gold"] += 0.05  # past 1.0 is fine for a doctored report
    doctored["answer"]["f1"] = doctored["answer"]["f1"] + 0.005
    baseline.write_text(json.dumps(doctored))
    status, stdout = _run([*common, "--out", str(tmp_path / "c"), "--baseline", str(baseline)], fake_embedder, capsys)
    assert status == EXIT_REGRESSION
    assert "gate: FAIL — answer.contains_gold -0.0500" in stdout
    status, _ = _run([*common, "--out", str(tmp_path / "d"), "--baseline", str(baseline), "--max-drop", "0.06"],
                     fake_embedder, capsys)
    assert status == 0


def test_jsonl_with_a_corpus(qa_jsonl, corpus_dir, tmp_path, fake_embedder, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # sources like "corpus/rivers.md" are paths as given
    status, stdout = _run(["--qa", str(qa_jsonl), "--corpus", "corpus", "--out", "out", "--no-plot"],
                          fake_embedder, capsys)
    assert status == 0
    report = json.loads(Path("out/report.json").read_text())
    assert (report["n_answerable"], report["n_unanswerable"]) == (2, 1)
    assert report["config"]["corpus"] == ["corpus"] and report["config"]["index"]["documents"] == 2
    lines = [json.loads(x) for x in Path("out/questions.jsonl").read_text().splitlines()]
    assert [len(x["gold_docs"]) for x in lines] == [1, 1, 0]
    assert all(x["gold_rank"] is not None for x in lines[:2])


def test_jsonl_against_an_existing_index(qa_jsonl, corpus_dir, tmp_path, fake_embedder, capsys):
    index = tmp_path / "index"
    Pipeline.open(index, embedder=fake_embedder).ingest([corpus_dir])
    status, _ = _run(["--index", str(index), "--qa", str(qa_jsonl), "--out", str(tmp_path / "out"), "--no-plot"],
                     fake_embedder, capsys)
    assert status == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["config"]["index"]["dir"] == str(index) and report["retrieval"]["recall@20"] == 1.0


def test_errors_are_one_line(tmp_path, fake_embedder, capsys):
    assert main(["--qa", str(tmp_path / "missing.json")], embedder=fake_embedder) == 1
    assert "error:" in capsys.readouterr().err
    qa = tmp_path / "q.jsonl"
    qa.write_text('{"id": "a", "question": "Q?", "answers": [], "source": null}\n')
    assert main(["--index", str(tmp_path / "none"), "--qa", str(qa)], embedder=fake_embedder) == 1
    assert "no index at" in capsys.readouterr().err


def test_squad_refuses_a_corpus(squad_file, corpus_dir, tmp_path, fake_embedder, capsys):
    assert main(["--qa", str(squad_file), "--corpus", str(corpus_dir), "--out", str(tmp_path)],
                embedder=fake_embedder) == 1
    assert "brings its own documents" in capsys.readouterr().err


def test_parse_k():
    assert parse_k("20,1,5,5") == (1, 5, 20)
    for bad in ("", "a", "0", "51"):
        with pytest.raises(Exception):
            parse_k(bad)


def test_rag_eval_subcommand_has_the_issues_flags():
    from ragcli import eval_command
    from ragcli.main import build_parser

    args = build_parser().parse_args(["--index", "ix", "eval", "--qa", "q.jsonl", "--corpus", "a", "b", "--k", "1,3",
                                      "--limit", "9", "--retrieval", "dense", "--out", "o", "--json", "r.json",
                                      "--baseline", "b.json", "--max-drop", "0.02"])
    assert args.handler is eval_command.cmd_eval
    assert (args.index, args.qa, args.corpus, args.k, args.limit) == ("ix", "q.jsonl", ["a", "b"], (1, 3), 9)
    assert (args.retrieval, args.out, args.json, args.baseline, args.max_drop) == ("dense", "o", "r.json", "b.json", 0.02)


def test_the_cli_constants_match_the_library():
    import eval.cache
    import eval.runner
    import rag.pipeline
    import rag.retrieve

    assert cli.MAX_K == rag.pipeline.MAX_K
    assert cli.RETRIEVAL_MODES == rag.retrieve.RETRIEVAL_MODES
    assert cli.DEFAULT_K == eval.runner.DEFAULT_K
    assert cli.DEFAULT_CACHE_DIR == eval.cache.DEFAULT_CACHE_DIR


def test_python_dash_m_eval_runs():
    done = subprocess.run([sys.executable, "-m", "eval", "--help"], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and "--baseline" in done.stdout


def test_run_writes_to_the_stream_it_is_given(squad_file, tmp_path, fake_embedder):
    args = cli.build_parser().parse_args(["--qa", str(squad_file), "--out", str(tmp_path / "o"), "--no-plot",
                                          "--cache-dir", str(tmp_path / "c"), "--limit", "3"])
    stream = io.StringIO()
    assert run(args, embedder=fake_embedder, stdout=stream) == 0
    assert "3 questions" in stream.getvalue()


def test_an_eval_on_a_milvus_server_builds_there_and_reuses_it(squad_file, tmp_path, fake_embedder, capsys):
    pytest.importorskip("pymilvus")
    from tests.index.milvus_server import milvus_uri

    engine = milvus_uri().replace("http://", "milvus://")
    argv = ["--qa", str(squad_file), "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"),
            "--no-plot", "--engine", engine]
    status, _ = _run(argv, fake_embedder, capsys)
    first = json.loads((tmp_path / "out" / "report.json").read_text())
    status_again, stdout = _run(argv, fake_embedder, capsys)
    assert status == status_again == 0 and "(cached" in stdout
    assert first["n_questions"] == 7 and first["answer"]["citation_valid"] == 1.0
    again = json.loads((tmp_path / "out" / "report.json").read_text())
    assert again["retrieval"] == first["retrieval"]


def test_an_unknown_engine_is_refused(capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["--qa", "x.json", "--engine", "postgres"])
    assert "milvus://HOST:PORT" in capsys.readouterr().err


def test_a_where_filter_that_cannot_be_used_is_refused_before_anything_runs(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.build_parser().parse_args(["--qa", "x.json", "--where", "year>=soon"])
    assert exit_info.value.code == 2 and "ISO 8601" in capsys.readouterr().err
    args = cli.build_parser().parse_args(["--qa", "x.json", "--where", "lang=en", "--where", "year>=2020"])
    assert args.where == ["lang=en", "year>=2020"]
