"""``rag serve --workers 2``: two processes share the port and the index, and see each other's writes."""
from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from tests.api.servers import serve_process
from tests.conftest import AMBASSADOR_FILE

pytestmark = pytest.mark.integration


def test_two_workers_answer_from_writes_made_through_either(tmp_path):
    with serve_process(tmp_path / "index", log_path=tmp_path / "server.log", workers=2) as (base_url, process):
        with httpx.Client(base_url=base_url, timeout=60) as http:
            children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
            commands = [Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode() for child in children]
            assert sum("spawn_main" in c for c in commands) == 2, commands  # uvicorn's two worker processes
            upload = http.post("/documents", files={"file": (AMBASSADOR_FILE.name, AMBASSADOR_FILE.read_bytes())})
            assert upload.status_code == 201, upload.text
            # New connections each time, so the kernel spreads them over both workers.
            for _ in range(12):
                with httpx.Client(base_url=base_url, timeout=60) as fresh:
                    result = fresh.post("/ask", json={"question": "Who is the Chinese ambassador to Norway?"}).json()
                    assert not result["no_answer"] and "Hou Yue" in result["answers"][0]["text"], result
                    assert fresh.get("/documents").json()["count"] == 1
    assert process.returncode in (0, -signal.SIGTERM), (tmp_path / "server.log").read_text()


def test_workers_must_be_positive(tmp_path, capsys):
    from ragcli.main import main

    assert main(["--index", str(tmp_path / "index"), "serve", "--workers", "0"]) == 2
    assert "--workers" in capsys.readouterr().err
