"""``rag --reader DIR bench``: the reader given is the one that answers, in-process and in the served child."""
from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from rag.reader.model_dir import DEFAULT_READER_DIR
from ragcli.main import main
from tests.conftest import SQUAD_FILE


def reader_copy(folder: Path, threshold: float) -> Path:
    """The shipped reader with another open-domain no-answer threshold (0 never abstains, 1 always does)."""
    folder.mkdir()
    for path in DEFAULT_READER_DIR.iterdir():
        if path.is_file() and path.name != "no_answer.json":
            (folder / path.name).symlink_to(path)
    no_answer = json.loads((DEFAULT_READER_DIR / "no_answer.json").read_text(encoding="utf-8"))
    (folder / "no_answer.json").write_text(json.dumps({**no_answer, "threshold": threshold}), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def local_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from rag import Pipeline
    from rag.hash_embedder import HashEmbedder

    where = tmp_path_factory.mktemp("index") / "local"
    pipeline = Pipeline.open(where, embedder=HashEmbedder())
    for i in range(12):
        pipeline.ingest_record({"id": f"d{i}", "title": f"Doc {i}", "text": f"The river number {i} flows north."})
    pipeline.directory.close()
    return where


@pytest.mark.skipif(not SQUAD_FILE.is_file(), reason=f"shared data not found at {SQUAD_FILE}")
@pytest.mark.parametrize("threshold, abstained", [(1.0, 1.0), (0.0, 0.0)])
def test_the_given_reader_answers_in_process(tmp_path, local_index, threshold, abstained):
    reader = reader_copy(tmp_path / "reader", threshold)
    out = tmp_path / "out"
    assert main(["--reader", str(reader), "bench", "--smoke", "--out", str(out), "--squad", str(SQUAD_FILE),
                 "--existing-index", str(local_index)]) == 0
    results = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    assert results["reader"] == str(reader)
    assert results["by_index"][0]["answer"]["abstained"] == abstained


@pytest.mark.integration
def test_the_served_child_is_started_with_the_given_reader(tmp_path):
    from bench.answering import start_server

    never, always = reader_copy(tmp_path / "never", 0.0), reader_copy(tmp_path / "always", 1.0)
    question = {"question": "Which way does the river Ombra flow?"}
    for reader, expected in ((never, False), (always, True)):
        # the real model builds the index on the first start; the second server opens it
        with start_server(tmp_path / "index", tmp_path / f"{reader.name}.log", reader_dir=reader) as info:
            base = f"http://127.0.0.1:{info['port']}"
            assert f"--reader {reader}" in info["command"]
            if reader is never:
                added = httpx.post(f"{base}/documents", timeout=60, files={
                    "file": ("ombra.txt", b"The river Ombra flows north from the hills to the sea.", "text/plain")})
                assert added.status_code == 201, added.text
            answer = httpx.post(f"{base}/ask", json=question, timeout=60).json()
        assert answer["no_answer"] is expected, answer
