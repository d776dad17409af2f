"""``rag serve``: argument handling and configuration errors (the live server is in test_real_server.py)."""
from __future__ import annotations

import pytest

from ragcli.main import build_parser, main


def test_serve_is_a_rag_command_with_loopback_defaults():
    args = build_parser().parse_args(["--index", "some/dir", "serve"])
    assert (args.command, args.host, args.port, args.index) == ("serve", "127.0.0.1", 8000, "some/dir")
    args = build_parser().parse_args(["serve", "--host", "0.0.0.0", "--port", "9001"])
    assert (args.host, args.port) == ("0.0.0.0", 9001)


@pytest.mark.parametrize(("variable", "value", "needle"), [
    ("RAG_MAX_UPLOAD_MB", "lots", "RAG_MAX_UPLOAD_MB"),
    ("RAG_MAX_UPLOAD_MB", "0", "RAG_MAX_UPLOAD_MB"),
    ("RAG_API_KEY_READS", "true", "RAG_API_KEY"),
    ("RAG_EMBED_BACKEND", "gpu", "RAG_EMBED_BACKEND"),
    ("RAG_SENTENCE_VECTORS", "sometimes", "RAG_SENTENCE_VECTORS"),
])
def test_bad_configuration_is_reported_before_anything_starts(monkeypatch, capsys, tmp_path, variable, value, needle):
    monkeypatch.setenv(variable, value)
    assert main(["--index", str(tmp_path / "index"), "serve", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: bad configuration") and needle in err
    assert not (tmp_path / "index").exists()


@pytest.mark.integration  # opens the pipeline with the real model
def test_an_index_the_server_creates_takes_its_sentence_vectors_from_the_environment(monkeypatch, tmp_path):
    from api import Settings
    from api.app import open_pipeline

    monkeypatch.setenv("RAG_SENTENCE_VECTORS", "late")
    pipeline = open_pipeline(Settings(index_dir=tmp_path / "index"))
    assert pipeline.directory.settings.sentence_vectors == "late"
    monkeypatch.setenv("RAG_SENTENCE_VECTORS", "separate")  # an existing index keeps its own
    assert open_pipeline(Settings(index_dir=tmp_path / "index")).directory.settings.sentence_vectors == "late"
