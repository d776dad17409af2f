"""Concurrency: 8 clients ask while another uploads, updates and deletes documents, through HTTP.

Zero errors; no answer cites a chunk that does not exist; the final index equals the one a
sequential replay of the same writes produces. CI runs 15 seconds; ``RAG_CONCURRENCY_SECONDS=60``
is the long run recorded in the README.
"""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np

from rag import Pipeline
from rag.hash_embedder import HashEmbedder
from tests.reliability.concurrency import index_contents, replay, run_concurrency, validate_answers
from tests.reliability.report import record
from tests.reliability.server import serve

SECONDS = float(os.environ.get("RAG_CONCURRENCY_SECONDS", "15"))


def test_readers_and_a_writer_through_http_end_where_a_sequential_run_ends(tmp_path: Path):
    with serve(tmp_path / "index", log_path=tmp_path / "server.log", log_level="warning") as (url, _):
        run = run_concurrency(url, seconds=SECONDS, readers=8, seed=11)
    assert run.errors == [], run.errors[:10]
    kinds = {op.kind for op in run.applied}
    assert {"upload", "record", "delete"} <= kinds and len(run.applied) >= 10, len(run.applied)
    assert len(run.asks) >= 8 * 5

    reference = Pipeline.open(tmp_path / "sequential", embedder=HashEmbedder())
    history = replay(reference, run.applied)
    assert validate_answers(run.asks, history) == []
    cited = {c["citation"]["chunk_id"] for body in run.asks for c in body["passages"]}
    assert cited, "no answer cited anything: the check above proved nothing"

    served = index_contents(tmp_path / "index", HashEmbedder())
    sequential = index_contents(tmp_path / "sequential", HashEmbedder())
    assert served["check"] == [] and sequential["check"] == []
    assert served["documents"] == sequential["documents"]
    assert served["chunks"] == sequential["chunks"]
    assert served["faiss_ids"] == sequential["faiss_ids"] == served["vector_ids"] == sequential["vector_ids"]
    assert np.array_equal(served["vectors"], sequential["vectors"])
    record("concurrency", {"seconds": SECONDS, "readers": 8, "writes": dict(Counter(op.kind for op in run.applied)),
                           "asks": len(run.asks), "errors": len(run.errors), "chunks_cited": len(cited),
                           "final_documents": len(served["documents"]), "final_chunks": len(served["chunks"])})


def test_the_citation_check_rejects_a_chunk_that_never_existed():
    from tests.reliability.concurrency import History

    history = History(chunks={7: ("c01", 0, 10, "The beacon", "The beacon m1 shines.")})
    good = {"passages": [{"text": "The beacon", "citation": {"chunk_id": 7, "doc_id": "c01", "char_start": 0,
                                                              "char_end": 10}}],
            "answers": [{"text": "beacon", "citation": {"chunk_id": 7, "doc_id": "c01", "char_start": 4,
                                                         "char_end": 10}}]}
    assert validate_answers([good], history) == []
    ghost = {"passages": [{**good["passages"][0], "citation": {**good["passages"][0]["citation"], "chunk_id": 8}}],
             "answers": [{**good["answers"][0], "text": "beaco"}]}
    assert len(validate_answers([ghost], history)) == 2
