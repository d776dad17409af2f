"""API replicas over one Milvus index: what milvus-lite allows here, and what needs a server.

milvus-lite lets one process at a time open its file, so two ``rag serve`` processes (or
``--workers N``) cannot share it: tested as a clear refusal. On Milvus's server
(tests/index/milvus_server.py), two real ``rag serve`` processes and a ``--workers 2`` one are
tested: a write through one is read through the other by the very next request (Strong consistency).
"""
from __future__ import annotations

import httpx
import pytest

from tests.api.servers import serve_process
from tests.index.milvus_server import server_location

pytestmark = pytest.mark.integration


def test_serve_refuses_several_workers_on_a_milvus_lite_file(tmp_path, capsys):
    pytest.importorskip("pymilvus")
    from ragcli.main import main

    assert main(["--index", f"milvus-lite:{tmp_path / 'index.db'}", "serve", "--workers", "2"]) != 0
    assert "one process" in capsys.readouterr().err


def test_a_write_through_one_replica_is_read_through_the_other_at_once(tmp_path):
    with server_location() as where, \
            serve_process(where, log_path=tmp_path / "a.log") as (first, _), \
            serve_process(where, log_path=tmp_path / "b.log") as (second, _):
        record = {"id": "fjord-1", "title": "Fjords", "text": "The Sognefjord is the longest fjord in Norway."}
        assert httpx.post(f"{first}/documents", json=record, timeout=120).status_code == 201
        seen = httpx.get(f"{second}/documents/fjord-1", timeout=30)
        assert seen.status_code == 200 and seen.json()["text"] == record["text"]  # the very next read
        answer = httpx.post(f"{second}/ask", json={"question": "Which fjord is the longest in Norway?"}, timeout=60)
        assert answer.status_code == 200 and answer.json()["passages"][0]["citation"]["doc_id"] == "fjord-1"
        assert httpx.delete(f"{second}/documents/fjord-1", timeout=30).status_code == 204
        assert httpx.get(f"{first}/documents/fjord-1", timeout=30).status_code == 404


def test_several_workers_serve_one_milvus_index(tmp_path):
    with server_location() as where, \
            serve_process(where, log_path=tmp_path / "w.log", workers=2) as (base, _):
        for n in range(6):  # spread over both workers; each reads what any wrote
            record = {"id": f"note-{n}", "text": f"Note {n}: the ferry to island {n} leaves at {n + 6} o'clock."}
            assert httpx.post(f"{base}/documents", json=record, timeout=120).status_code == 201
            listed = httpx.get(f"{base}/documents", timeout=30).json()
            assert {d["doc_id"] for d in listed["data"]} >= {f"note-{i}" for i in range(n + 1)}


def test_two_ingests_into_one_server_collection_at_once_add_up(tmp_path):
    """Sharded ingest: two `rag ingest` processes, each with its own folder, into one collection at the
    same time (how a collection larger than one machine can embed gets embedded): both finish, the
    counts add up and `rag check` finds nothing wrong."""
    import json
    import os
    import subprocess
    import sys

    from tests.conftest import NEWS_DIR, REPO

    sentences = [line for path in sorted(NEWS_DIR.glob("*.txt"))
                 for line in path.read_text(encoding="utf-8").splitlines() if len(line.split()) >= 8]
    for shard in ("a", "b"):
        folder = tmp_path / shard
        folder.mkdir()
        for n in range(40):
            (folder / f"{shard}-{n:02d}.txt").write_text(
                f"Shard {shard}, note {n}. {sentences[n % len(sentences)]}\n", encoding="utf-8")
    env = {**os.environ, "RAG_INDEX_DIR": ""}
    with server_location() as where:
        rag = [sys.executable, "-m", "ragcli", "--index", where]
        subprocess.run([*rag, "ingest", str(tmp_path / "a" / "a-00.txt")], check=True, capture_output=True,
                       env=env, cwd=REPO, timeout=300)  # the collection exists before the two start
        shards = [subprocess.Popen([*rag, "ingest", "--json", str(tmp_path / shard)], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=env, cwd=REPO) for shard in ("a", "b")]
        outputs = [proc.communicate(timeout=600) for proc in shards]
        assert [proc.returncode for proc in shards] == [0, 0], [err[-2000:] for _, err in outputs]
        reports = [json.loads(out) for out, _ in outputs]
        listed = json.loads(subprocess.run([*rag, "list", "--json"], capture_output=True, text=True, env=env,
                                           cwd=REPO, timeout=300).stdout)
        check = subprocess.run([*rag, "check", "--json"], capture_output=True, text=True, env=env, cwd=REPO,
                               timeout=300)
    assert len(reports[0]["added"]) + len(reports[0]["unchanged"]) == 40 and len(reports[1]["added"]) == 40
    assert len(listed) == 80 and sum(d["n_chunks"] for d in listed) == json.loads(check.stdout)["chunks"]
    assert check.returncode == 0 and json.loads(check.stdout)["ok"], check.stdout
