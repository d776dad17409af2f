"""Replicas under load, on Milvus's server: two ``rag serve`` processes and a ``--workers 2`` one over
one collection; 8 clients ask through all three while two writers upload, update and delete through
two of them. Zero errors; every passage cited is a chunk a sequential replay of the same writes
created, every answer quotes it exactly; the final collection equals the replay.

CI runs 15 seconds; ``RAG_REPLICAS_SECONDS=60`` is the long run recorded in docs/reliability.md.
"""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from rag import Pipeline
from tests.api.servers import serve_process
from tests.index.milvus_server import server_location
from tests.reliability.concurrency import chunk_history, engine_contents, run_concurrency, validate_citations
from tests.reliability.report import record

pytestmark = pytest.mark.integration
SECONDS = float(os.environ.get("RAG_REPLICAS_SECONDS", "15"))


def test_replicas_under_load_end_where_a_sequential_run_ends(tmp_path: Path):
    pytest.importorskip("pymilvus")
    with server_location() as where:
        with serve_process(where, log_path=tmp_path / "a.log") as (first, _), \
                serve_process(where, log_path=tmp_path / "b.log") as (second, _), \
                serve_process(where, log_path=tmp_path / "w.log", workers=2) as (third, _):
            run = run_concurrency([first, second, third], seconds=SECONDS, readers=8, writers=2, seed=21)
        served = Pipeline.open(where, create=False)  # the bundled model, as the servers ran it
        try:
            served_contents = engine_contents(served)
        finally:
            served.directory.close()
    assert run.errors == [], run.errors[:10]
    kinds = Counter(op.kind for op in run.applied)
    writers = {op.doc_id.split("-")[0] for op in run.applied}
    assert {"upload", "record", "delete"} <= set(kinds) and writers == {"w0", "w1"}, kinds
    assert len(run.asks) >= 8 * 3

    reference = Pipeline.open(tmp_path / "sequential")
    history = chunk_history(reference, run.applied)
    assert validate_citations(run.asks, history) == []
    cited = sum(len(body["passages"]) for body in run.asks)
    assert cited, "no answer cited anything: the check above proved nothing"
    sequential = engine_contents(reference)
    assert served_contents["check"] == [] and sequential["check"] == []
    assert served_contents["documents"] == sequential["documents"]
    assert served_contents["chunks"] == sequential["chunks"]
    record("replicas_load", {"seconds": SECONDS, "replicas": "2 rag serve + 1 rag serve --workers 2", "readers": 8,
                             "writers": 2, "writes": dict(kinds), "asks": len(run.asks), "errors": len(run.errors),
                             "passages_cited": cited, "final_documents": len(served_contents["documents"])})
