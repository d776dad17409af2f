"""The issues' speed, memory and quality targets, each against what a ``rag bench`` run measured: a row
per target with its value, goal and whether it is met (``None`` when the run measured nothing for it)."""
from __future__ import annotations

from typing import Any

__all__ = ["targets"]


def _target(name: str, value: float | None, goal: float, *, higher: bool, unit: str = "") -> dict:
    met = None if value is None else (value >= goal if higher else value <= goal)
    return {"target": name, "value": value, "goal": f"{'≥' if higher else '≤'} {goal:g}{unit}", "met": met}


def targets(results: dict[str, Any]) -> list[dict]:
    """A row for each target the run measured something for (issues 6, 12 and 28, and the Milvus comparisons)."""
    rows = []
    ing = results.get("ingest", {})
    if "int8_encode_speedup_vs_reference" in ing:
        rows.append(_target("(diagnostic) onnx-int8 encoder alone vs the same loop", ing["int8_encode_speedup_vs_reference"],
                            2, higher=True, unit="×"))
    if "fast_speedup_vs_reference" in ing:
        rows.append(_target("ingest (onnx-int8, late sentence vectors) vs plain encode loop, ≥10k chunks",
                            ing["fast_speedup_vs_reference"], 2, higher=True, unit="×"))
    if "int8_speedup_vs_reference" in ing:
        rows.append(_target("(diagnostic) ingest (onnx-int8, separate sentence vectors) vs the same loop",
                            ing["int8_speedup_vs_reference"], 2, higher=True, unit="×"))
    recall = {label: r["recall@5"] for label, r in ing.get("recall", {}).items() if r.get("recall@5") is not None}
    for label, name in (("fast", "onnx-int8 + late sentence vectors"), ("int8", "onnx-int8")):
        if "default" in recall and label in recall:
            rows.append(_target(f"recall@5 drop of {name} vs fp32 (points)", 100 * (recall["default"] - recall[label]),
                                0.5, higher=False))
    if "reingest" in ing:
        rows.append(_target("re-ingest speed-up (unchanged corpus)", ing["reingest"]["speedup"], 50, higher=True, unit="×"))
    runs = {r["concurrency"]: r for r in results.get("http", {}).get("runs", [])}
    if 1 in runs:
        # issue 12's targets, with the reader
        rows.append(_target("/ask p50 at concurrency 1", runs[1].get("p50_ms"), 45, higher=False, unit=" ms"))
        rows.append(_target("/ask p95 at concurrency 1", runs[1].get("p95_ms"), 90, higher=False, unit=" ms"))
    if 8 in runs:
        rows.append(_target("/ask throughput at concurrency 8", runs[8]["requests_per_s"], 30, higher=True, unit=" req/s"))
        rows.append(_target("/ask errors at concurrency 8", runs[8]["errors"], 0, higher=False))
    start = results.get("footprint", {}).get("start_to_ready_s")
    if start is not None and not results.get("smoke"):
        rows.append(_target("process start to /readyz", start, 5, higher=False, unit=" s"))
    sizes = results.get("writes", {}).get("sizes", [])
    if sizes:
        small, large = sizes[0], sizes[-1]
        for row in (small, large):
            rows.append(_target(f"add one document at {row['chunks']:,} chunks (median)",
                                1000 * row["add_one_s"]["median"], 200, higher=False, unit=" ms"))
        rows.append(_target("add one document: large vs small index", results["writes"]["add_ratio_large_vs_small"],
                            2, higher=False, unit="×"))
        rows.append(_target(f"delete one document at {large['chunks']:,} chunks (median)",
                            1000 * large["delete_one_s"]["median"], 200, higher=False, unit=" ms"))
    scale_rows = [r for r in results.get("scale", {}).get("rows", []) if r.get("default")]
    if scale_rows:
        row = scale_rows[0]
        rows.append(_target("large-collection index memory (ivf-sq8)", row["index_mb"], 1024, higher=False, unit=" MiB"))
        rows.append(_target("large-collection recall@10 (default nprobe)", row["recall"], 0.95, higher=True))
        rows.append(_target("large-collection p50 search", row["p50_ms"], 20, higher=False, unit=" ms"))
    rows += _scale_ask_targets(results.get("scale_ask", {}).get("sizes", []))
    by_index = results.get("by_index", [])
    local = [r for r in by_index if not r["index"].startswith(("milvus-lite:", "milvus://"))]
    for other in (r for r in by_index if r["index"].startswith(("milvus-lite:", "milvus://"))):
        if local:
            p50 = {r["index"]: next(run["p50_ms"] for run in r["http"]["runs"] if run["concurrency"] == 1)
                   for r in (local[0], other)}
            rows.append(_target(f"/ask p50 over HTTP, c=1: {other['index'].split(':')[0]} minus local",
                                p50[other["index"]] - p50[local[0]["index"]], 10, higher=False, unit=" ms"))
    milvus_rows = [r for r in results.get("scale", {}).get("rows", [])
                   if r.get("engine") == "milvus-lite" and "error" not in r]
    if milvus_rows:
        best = max(milvus_rows, key=lambda r: (r["index_type"] != "FLAT", r["recall"]))  # the best approximate one
        rows.append(_target(f"Milvus: recall@10 of an approximate index ({best['kind']})", best["recall"], 0.95,
                            higher=True))
    return rows


def _thousands(chunks: int) -> int:
    """A grown index's size as asked for, in thousands: documents of two chunks overshoot it a little."""
    return round(chunks / 10_000) * 10


def _scale_ask_targets(sizes: list[dict[str, Any]]) -> list[dict]:
    """Issue 28's targets: answering as the collection grows."""
    if len(sizes) < 2:
        return []
    rows = []
    by_size = {_thousands(r["chunks"]): r for r in sizes}
    first = sizes[0]
    for r in sizes[1:]:  # the goal is the 250k one's; others are shown against the same bar
        label = "" if _thousands(r["chunks"]) == 250 else "(diagnostic) "
        rows.append(_target(f"{label}ask p50 at {r['chunks']:,} vs {first['chunks']:,} chunks",
                            r["ask"]["p50_ms"] / first["ask"]["p50_ms"], 1.5, higher=False, unit="×"))
    for thousands, goal in ((250, 15), (1000, 40)):
        if thousands in by_size:
            rows.append(_target(f"BM25 p50 at {by_size[thousands]['chunks']:,} chunks",
                                by_size[thousands]["bm25_50"]["p50_ms"], goal, higher=False, unit=" ms"))
    last = sizes[-1]
    rows.append(_target(f"/ask p50 over HTTP at {last['chunks']:,} chunks", last["http_c1"]["p50_ms"], 80,
                        higher=False, unit=" ms"))
    return rows
