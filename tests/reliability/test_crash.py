"""Crash safety: SIGKILL an ingest at 20 moments; the index always opens, checks, answers, loses nothing.
The same on milvus-lite and on Milvus's server, where the server process is also killed mid-write.

The long run is ``python -m tests.reliability.crash_run --kills 200``; the figures are in the README.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index.manifest import STORE_FILE
from rag.pipeline import INGEST_BATCH_DOCUMENTS
from tests.conftest import NEWS_DIR, REPO
from bench import MilvusServer
from tests.index.milvus_server import server_location
from tests.reliability.crash_harness import MILVUS_KILL_POINTS, run_crash_test, state_after, verify_index

KILLS = int(os.environ.get("RAG_CRASH_KILLS", "20"))
MILVUS_KILLS = int(os.environ.get("RAG_MILVUS_CRASH_KILLS", "6"))
MILVUS_SERVER_KILLS = int(os.environ.get("RAG_MILVUS_SERVER_KILLS", "4"))


def test_operations_are_deterministic_and_change_the_state():
    assert state_after(6) == state_after(6)
    sizes = [len(state_after(n)) for n in range(8)]
    assert sizes[0] == 0 and sizes[3] > 0
    assert sizes[4] == sizes[3] - 1  # every fourth operation deletes a document


def test_sigkill_at_20_moments_never_loses_or_half_writes(tmp_path):
    lines: list[str] = []
    run = run_crash_test(tmp_path / "index", kills=KILLS, seed=7, log=lines.append)
    report = "\n".join(lines)
    assert not run.failures, report + "\n" + "\n".join(str(k.problems) for k in run.failures)
    assert len(run.kills) == KILLS
    # The kills really did land inside the phases of a write, not only between operations.
    landed = run.landed()
    assert landed["embed"] >= 1, report
    assert len(set(landed) - {"between operations", "startup"}) >= 4, report
    # Writes went on between kills, and the index kept growing.
    assert run.final_ops >= 3 and run.kills[-1].documents > 0, report


def test_verify_notices_a_half_applied_operation(tmp_path):
    """The checker itself can fail: a document missing from a committed state is reported."""
    from rag import Pipeline
    from rag.hash_embedder import HashEmbedder
    from rag.loaders import record_to_document

    pipeline = Pipeline.open(tmp_path / "index", embedder=HashEmbedder())
    state = state_after(3)
    dropped = sorted(state)[0]
    pipeline.ingest_documents([record_to_document({"id": d, "text": t}, default_id=d, source="crash-test")
                               for d, t in state.items() if d != dropped])
    held, _, _, problems = verify_index(tmp_path / "index", 3)
    assert held == -1 and any("neither the state" in p for p in problems)


@pytest.mark.integration
def test_cli_ingest_killed_then_rag_check_passes_and_a_rerun_completes(tmp_path):
    """The real CLI and model: kill ``rag ingest`` mid-way (after its first committed batch, before its
    last), then ``rag check`` and ``rag ingest`` again."""
    index = tmp_path / "index"
    rag = [sys.executable, "-m", "ragcli", "--index", str(index)]
    env = {**os.environ, "RAG_INDEX_DIR": ""}
    first = subprocess.run([*rag, "ingest", "--json", str(NEWS_DIR)], capture_output=True, text=True, env=env,
                           cwd=REPO, timeout=300)
    assert first.returncode == 0, first.stderr
    before = {d["doc_id"]: d["n_chunks"] for d in json.loads(
        subprocess.run([*rag, "list", "--json"], capture_output=True, text=True, env=env, cwd=REPO,
                       timeout=300).stdout)}
    # A second ingest: 3 batches of short notes (the CLI commits every 256 files), killed once the first
    # batch is committed and while the process still runs — so always mid-ingest, between commits.
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    sentences = [line for path in sorted(NEWS_DIR.glob("*.txt"))
                 for line in path.read_text(encoding="utf-8").splitlines() if len(line.split()) >= 8]
    n_files = 3 * INGEST_BATCH_DOCUMENTS
    for n in range(n_files):
        (corpus / f"note-{n:04d}.txt").write_text(f"Note {n}. {sentences[n % len(sentences)]}\n", encoding="utf-8")
    proc = subprocess.Popen([*rag, "ingest", str(corpus)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env, cwd=REPO)
    deadline = time.monotonic() + 240
    while _documents_committed(index) < len(before) + INGEST_BATCH_DOCUMENTS:
        assert proc.poll() is None, "the ingest ended before its first batch was seen committed"
        assert time.monotonic() < deadline, "no batch committed in 240 s"
        time.sleep(0.05)
    assert proc.poll() is None, "the ingest finished before the kill: it must land mid-ingest"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    killed_at = _documents_committed(index)
    assert len(before) + INGEST_BATCH_DOCUMENTS <= killed_at < len(before) + n_files  # some committed, not all

    check = subprocess.run([*rag, "check", "--json"], capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr
    assert json.loads(check.stdout)["ok"]
    after = {d["doc_id"]: d for d in json.loads(
        subprocess.run([*rag, "list", "--json"], capture_output=True, text=True, env=env, cwd=REPO,
                       timeout=300).stdout)}
    assert set(before) <= set(after)  # nothing that was fully ingested is lost
    asked = subprocess.run([*rag, "ask", "--json", "Who is the ambassador?"], capture_output=True, text=True,
                           env=env, cwd=REPO, timeout=300)
    assert asked.returncode == 0 and json.loads(asked.stdout)["passages"], asked.stderr

    rerun = subprocess.run([*rag, "ingest", "--json", str(corpus)], capture_output=True, text=True, env=env,
                           cwd=REPO, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    final = subprocess.run([*rag, "check"], capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert final.returncode == 0 and "consistent" in final.stdout
    assert not list(index.glob("gen-*")) and not list(index.glob("*.tmp")) and not list(index.glob(".*.tmp"))
    assert len(json.loads(subprocess.run([*rag, "list", "--json"], capture_output=True, text=True, env=env,
                                         cwd=REPO, timeout=300).stdout)) == len(before) + n_files


def _documents_committed(index: Path) -> int:
    """The documents count of the last committed write, read from the store as any reader would."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{index / STORE_FILE}?mode=ro", uri=True, timeout=5)) as db:
            return int(db.execute("SELECT value FROM meta WHERE key = 'documents'").fetchone()[0])
    except sqlite3.OperationalError:  # not created yet
        return 0


def test_sigkill_on_milvus_never_shows_half_a_write_and_repair_removes_what_it_left(tmp_path):
    pytest.importorskip("pymilvus")
    lines: list[str] = []
    run = run_crash_test(f"milvus-lite:{tmp_path / 'index.db'}", kills=MILVUS_KILLS, seed=3, log=lines.append)
    report = "\n".join(lines)
    assert not run.failures, report + "\n" + "\n".join(str(k.problems) for k in run.failures)
    assert len(run.kills) == MILVUS_KILLS
    landed = run.landed()
    assert landed["store-write"] >= 1 and landed["milvus-commit"] >= 1, report
    # Kills inside a write left rows of a version no document points to; check found them, repair removed them.
    assert any(k.repaired for k in run.kills), report
    assert run.final_ops >= 3 and run.kills[-1].documents > 0, report


def test_sigkill_of_writers_on_the_milvus_server(tmp_path):
    """The same kills on Milvus's C++ server (tests/index/milvus_server.py), which several processes share."""
    pytest.importorskip("pymilvus")
    lines: list[str] = []
    with server_location() as where:
        run = run_crash_test(where, kills=MILVUS_KILLS, seed=3, log=lines.append, timeout=120)
    report = "\n".join(lines)
    assert not run.failures, report + "\n" + "\n".join(str(k.problems) for k in run.failures)
    assert len(run.kills) == MILVUS_KILLS and run.landed()["milvus-commit"] >= 1, report
    assert run.final_ops >= 3 and run.kills[-1].documents > 0, report


def test_sigkill_of_the_milvus_server_in_the_middle_of_writes(tmp_path):
    """The server itself dies mid-write (SIGKILL) and comes back on the same file: nothing it acknowledged
    is lost, nothing half-written shows, and check/repair leave it consistent.

    Aimed at embedding and at the versions written aside, not at the switch: the long runs
    (`crash_run --engine milvus --kill server`) found that milvus-lite 2.5.1's server, killed during or
    just after the upsert that switches a document to its new version, can lose that document (2 in 145
    kills; docs/where-the-index-lives.md), and CI must not flake on a known fault of its local mode."""
    pytest.importorskip("pymilvus")
    server = MilvusServer(tmp_path / "kills.db")
    server.start()
    lines: list[str] = []
    try:
        run = run_crash_test(f"milvus://127.0.0.1:{server.port}/crash", kills=MILVUS_SERVER_KILLS, seed=5,
                             log=lines.append, timeout=120, server=server, points=MILVUS_KILL_POINTS[:3])
    finally:
        server.stop()
    report = "\n".join(lines)
    assert not run.failures, report + "\n" + "\n".join(str(k.problems) for k in run.failures)
    assert len(run.kills) == MILVUS_SERVER_KILLS, report
    assert run.landed()["store-write"] >= 1, report  # some landed inside a write
