"""The benchmark's smoke run: every section on tiny inputs with the fake embedder, in seconds.

It checks that the benchmark runs and reports what it claims to measure; it asserts no speed.
"""
from __future__ import annotations

import json

import pytest

from ragcli.main import main
from tests.conftest import SQUAD_FILE

pytestmark = pytest.mark.skipif(not SQUAD_FILE.is_file(), reason=f"shared data not found at {SQUAD_FILE}")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("bench")
    assert main(["bench", "--smoke", "--out", str(out), "--squad", str(SQUAD_FILE)]) == 0
    return json.loads((out / "bench.json").read_text(encoding="utf-8"))


def test_writes_machine_details_and_every_section(smoke):
    assert smoke["smoke"] is True
    assert smoke["machine"]["cores"] and smoke["machine"]["cpu"]
    assert {"ingest", "answer", "http", "writes", "scale", "scale_ask", "footprint", "targets"} <= set(smoke)


def test_ingest_counts_chunks_and_reingest_embeds_nothing(smoke):
    corpus = smoke["ingest"]["corpus"][0]
    assert corpus["chunks"] >= 150 and corpus["chunks_per_s"] > 0 and corpus["tokens_per_s"] > 0
    reingest = smoke["ingest"]["reingest"]
    assert reingest["added"] == reingest["updated"] == 0
    assert reingest["unchanged"] == smoke["ingest"]["corpus"][0]["documents"]


def test_http_runs_answer_every_request(smoke):
    runs = smoke["http"]["runs"]
    assert [r["concurrency"] for r in runs] == [1, 8]
    assert all(r["errors"] == 0 and r["requests"] > 0 and r["p50_ms"] > 0 for r in runs)


def test_scale_compares_flat_with_ivf_against_exact(smoke):
    rows = smoke["scale"]["rows"]
    assert rows[0]["kind"].startswith("flat") and rows[0]["recall"] == 1.0
    ivf = [r for r in rows if r["kind"].startswith("ivf-sq8")]
    assert ivf and all(0 < r["recall"] <= 1 for r in ivf)
    assert ivf[0]["index_mb"] < rows[0]["index_mb"] / 3  # 8-bit codes against 32-bit floats


def test_targets_say_met_exactly_when_the_value_reaches_the_goal(smoke):
    assert smoke["targets"]
    for target in smoke["targets"]:
        sign, number = target["goal"].split()[:2]
        goal = float(number.rstrip("×%").replace(",", ""))
        expected = target["value"] >= goal if sign == "≥" else target["value"] <= goal
        assert target["met"] is expected, target
    writes = {t["target"]: t for t in smoke["targets"] if "add one document" in t["target"]}
    assert len(writes) == 3  # at both sizes, and their ratio


def test_writes_are_timed_at_two_sizes_after_a_bulk_ingest(smoke):
    writes = smoke["writes"]
    assert [row["chunks"] for row in writes["sizes"]] == [500, 5_000]
    assert [(b["from_chunks"], b["to_chunks"]) for b in writes["bulk"]] == [(0, 500), (500, 5_000)]
    for row in writes["sizes"]:
        assert 0 < row["add_one_s"]["median"] <= row["add_one_s"]["max"]
        assert 0 < row["delete_one_s"]["median"] <= row["delete_one_s"]["max"]
    assert writes["add_ratio_large_vs_small"] > 0


def test_scale_builds_milvus_index_types_beside_faiss(smoke):
    pytest.importorskip("pymilvus")
    rows = {r["index_type"]: r for r in smoke["scale"]["rows"] if r.get("engine") == "milvus-lite"}
    assert set(rows) == {"FLAT", "IVF_SQ8", "HNSW"}
    assert rows["FLAT"]["recall"] == 1.0  # exact, as the FAISS flat row it is scored against
    assert all(0 < r["recall"] <= 1 and r["p50_ms"] > 0 and r["build_s"] > 0 for r in rows.values())
    assert any(t["target"].startswith("Milvus: recall@10") for t in smoke["targets"])


def test_existing_indexes_are_measured_back_to_back(tmp_path):
    pytest.importorskip("pymilvus")
    from rag import Pipeline
    from rag.hash_embedder import HashEmbedder

    records = [{"id": f"d{i}", "title": f"Doc {i}", "text": f"The river number {i} flows north. It is long."}
               for i in range(20)]
    locations = [str(tmp_path / "local"), f"milvus-lite:{tmp_path / 'lite.db'}"]
    for location in locations:
        pipeline = Pipeline.open(location, embedder=HashEmbedder())
        for record in records:
            pipeline.ingest_record(record)
        pipeline.directory.close()
    out = tmp_path / "out"
    args = ["bench", "--smoke", "--out", str(out), "--squad", str(SQUAD_FILE)]
    assert main(args + [arg for location in locations for arg in ("--existing-index", location)]) == 0
    results = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    assert [r["index"] for r in results["by_index"]] == locations
    for found in results["by_index"]:
        assert found["footprint"]["chunks"] == 20
        assert all(run["errors"] == 0 and run["requests"] > 0 for run in found["http"]["runs"])
    [compared] = [t for t in results["targets"] if "minus local" in t["target"]]
    assert compared["value"] is not None


def test_scale_ask_grows_one_index_and_measures_answering_at_each_size(smoke):
    found = smoke["scale_ask"]
    sizes = found["sizes"]
    assert [r["chunks"] >= goal for r, goal in zip(sizes, (400, 800), strict=True)] == [True, True]
    for row in sizes:
        assert row["ask"]["n"] == found["questions"] and row["bm25_50"]["p50_ms"] > 0 and row["dense_50"]["n"]
        assert row["http_c1"]["errors"] == row["http_c8"]["errors"] == 0 and row["http_c1"]["p50_ms"] > 0
        assert row["disk_mb"] > 0 and row["rss_mb"] > 0
    assert any("ask p50 at" in t["target"] for t in smoke["targets"])  # the smoke sizes: a diagnostic row
