"""The printed table (Markdown, so it pastes into the README as is)."""
from __future__ import annotations

from typing import Any

__all__ = ["render"]


def _f(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_f(c) if not isinstance(c, str) else c for c in row) + " |" for row in rows]
    return lines + [""]


def _ingest(results: dict[str, Any]) -> list[str]:
    ing = results.get("ingest")
    if not ing:
        return []
    lines = ["### Ingest", ""]
    rows = []
    for corpus, key in (("SQuAD public (395 paragraphs)", "squad"), ("generated (≥ 10k chunks)", "corpus")):
        runs = ing.get(key, [])
        ref = next((r for r in runs if r["backend"].startswith("reference")), None)
        for r in runs:
            ratio = ref["seconds"] / r["seconds"] if ref else None
            backend = r["backend"] + (" + late sentence vectors" if r.get("sentence_vectors") == "late" else "")
            rows.append([corpus, backend, r["chunks"], r["seconds"], r["chunks_per_s"], _f(r["tokens_per_s"], 0),
                         r.get("texts_embedded"), r.get("embed_seconds"), _f(ratio, 2) + "×" if ratio else "–"])
    lines += _table(["corpus", "backend", "chunks", "s", "chunks/s", "tokens/s", "texts embedded", "embedding s",
                     "vs reference"], rows)
    info = ing.get("corpus_info", {})
    if info:
        lines.append(f"Generated corpus: {_f(info['generated_documents'])} generated documents + "
                     f"{info['squad_documents']} SQuAD paragraphs, {_f(info['mb'])} MB. ")
    if "reingest" in ing:
        r = ing["reingest"]
        lines.append(f"Re-ingest of the unchanged corpus: {r['seconds']:.2f} s ({r['unchanged']} documents unchanged), "
                     f"**{r['speedup']:.0f}×** faster than the first ingest. ")
    for label, rec in ing.get("recall", {}).items():
        lines.append(f"recall@5 on the public split, {label}: {_f(rec['recall@5'], 4)} ({rec['via']}). ")
    return lines + [""]


def _answer(results: dict[str, Any]) -> list[str]:
    a = results.get("answer")
    lines = []
    if a:
        lines += ["### ask, in-process (≥ 10k-chunk index)", ""]
        rows = [["ask (end to end)", a["total"]["p50_ms"], a["total"]["p95_ms"], a["total"]["p99_ms"]]]
        for name, p in a["pipeline_timings"].items():
            rows.append([f"  of which {name} (pipeline's own timing)", p.get("p50_ms"), p.get("p95_ms"), p.get("p99_ms")])
        for name, p in a["stages_alone"].items():
            rows.append([f"  stage alone: {name}", _f(p["p50_ms"], 2), _f(p["p95_ms"], 2), _f(p["p99_ms"], 2)])
        lines += _table(["", "p50 ms", "p95 ms", "p99 ms"], rows)
        top = a.get("profile_top", [])[:12]
        if top:
            lines += ["Profile (cProfile, own time per ask, top 12):", ""]
            lines += _table(["function", "calls", "own ms/ask", "cumulative ms/ask"],
                            [[f"`{t['function']}`", t["calls"], _f(t["own_ms_per_ask"], 2),
                              _f(t["cum_ms_per_ask"], 2)] for t in top])
    h = results.get("http")
    if h:
        lines += [f"### /ask over HTTP ({h['server']['command']})", ""]
        lines += _table(["concurrency", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms"],
                        [[r["concurrency"], r["requests"], r["errors"], r["requests_per_s"], r.get("p50_ms"),
                          r.get("p95_ms"), r.get("p99_ms")] for r in h["runs"]])
    f = results.get("footprint")
    if f:
        lines += ["### Footprint", ""]
        lines += _table(["index on disk (MB)", "chunks", "start to /readyz (s)", "server RSS after start (MiB)",
                         "server peak RSS (MiB)"],
                        [[f.get("index_mb"), f.get("chunks"), _f(f.get("start_to_ready_s"), 2),
                          f.get("rss_after_start_mb"), f.get("peak_rss_mb")]])
    return lines


def _scale(results: dict[str, Any]) -> list[str]:
    s = results.get("scale")
    if not s:
        return []
    lines = [f"### Vector search alone: {s['n']:,} × {s['dimension']}-d, k = {s['k']}, {s['queries']} queries", "",
             f"Data: {s['data']}.", ""]
    lines += _table(["index", "build s", "index MiB (Milvus: disk)", "RSS growth MiB", "p50 ms", "p95 ms",
                     f"recall@{s['k']}"],
                    [[r["kind"], r["build_s"], r.get("index_mb", r.get("disk_mb")), r["rss_growth_mb"], _f(r["p50_ms"], 2),
                      _f(r["p95_ms"], 2), _f(r["recall"], 4)] if "error" not in r else [r["kind"], r["error"], "", "", "", "", ""]
                     for r in s["rows"]])
    if any(r.get("engine") == "milvus-lite" for r in s["rows"]):
        lines += ["milvus-lite runs in this process and spends about 0.45 µs per stored row on every search, "
                  "whatever the index type: its latencies are lite's, its recall the index type's.", ""]
    return lines


def _compare(results: dict[str, Any]) -> list[str]:
    found = results.get("by_index", [])
    if len(found) < 2:
        return []
    lines = ["### The same questions on each index, back to back", ""]
    rows = []
    for r in found:
        runs = {run["concurrency"]: run for run in r["http"]["runs"]}
        retrieve = r["answer"]["pipeline_timings"].get("retrieve", {})
        rows.append([f"`{r['index']}`", r["footprint"]["chunks"], r["footprint"]["index_mb"],
                     r["answer"]["total"]["p50_ms"], retrieve.get("p50_ms"), runs.get(1, {}).get("p50_ms"),
                     runs.get(1, {}).get("p95_ms"), runs.get(8, {}).get("requests_per_s"),
                     _f(r["footprint"].get("start_to_ready_s"), 2), r["footprint"].get("peak_rss_mb")])
    lines += _table(["index", "chunks", "on disk MB", "ask in-process p50 ms", "of which retrieve p50 ms",
                     "/ask c=1 p50 ms", "/ask c=1 p95 ms", "/ask c=8 req/s", "start to /readyz s", "server peak RSS MiB"],
                    rows)
    return lines


def _writes(results: dict[str, Any]) -> list[str]:
    w = results.get("writes")
    if not w:
        return []
    lines = ["### Writes (hash embedder, 384-d: the index's own work)", ""]
    lines += _table(["chunks", "index MiB", "add one: median ms", "max ms", "next question catches up: ms",
                     "delete one: median ms", "max ms", "lexical search ms", "extra disk during an add MiB",
                     "new process's first question s"],
                    [[r["chunks"], r["index_mb"], 1000 * r["add_one_s"]["median"], 1000 * r["add_one_s"]["max"],
                      1000 * r["next_question_catch_up_s"]["median"], 1000 * r["delete_one_s"]["median"],
                      1000 * r["delete_one_s"]["max"], 1000 * r["lexical_search_s"]["median"],
                      r["disk_extra_mb_during_add"]["max"], _f(r["first_question_open_s"], 2)] for r in w["sizes"]])
    lines += _table(["bulk ingest", "seconds", "chunks/s"],
                    [[f"{b['from_chunks']:,} → {b['to_chunks']:,} chunks", b["seconds"], b["chunks_per_s"]]
                     for b in w["bulk"]])
    return lines


def _scale_ask(results: dict[str, Any]) -> list[str]:
    s = results.get("scale_ask")
    if not s or not s.get("sizes"):
        return []
    lines = [f"### ask as the collection grows ({s['embedder']}; {s['data']}; {s['questions']} questions)", ""]
    lines += _table(["chunks", "ask p50 ms", "ask p95 ms", "BM25 (50) p50 ms", "dense (50) p50 ms", "/ask c=1 p50 ms",
                     "/ask c=1 p95 ms", "/ask c=8 req/s", "RSS MiB", "on disk MiB", "open s"],
                    [[r["chunks"], r["ask"]["p50_ms"], r["ask"]["p95_ms"], r["bm25_50"]["p50_ms"], r["dense_50"]["p50_ms"],
                      r["http_c1"]["p50_ms"], r["http_c1"]["p95_ms"], r["http_c8"]["requests_per_s"], r["rss_mb"],
                      r["disk_mb"], r["open_s"]] for r in s["sizes"]])
    return lines


def render(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [f"## rag bench{' --smoke' if results.get('smoke') else ''}", "",
             f"{m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; load average at start "
             f"{m['load_average_at_start']}; {m['time']}", ""]
    if results.get("reader", "shipped") != "shipped":
        lines += [f"Reader: {results['reader']} (not the shipped one)", ""]
    if results.get("targets"):
        lines += ["### Targets", ""]
        lines += _table(["target", "measured", "goal", "met"],
                        [[t["target"], _f(t["value"], 2), t["goal"], t["met"]] for t in results["targets"]])
    if results.get("model_load_s"):
        lines.append("Model load (s): " + ", ".join(f"{k} {v:.1f}" for k, v in results["model_load_s"].items()))
        lines.append("")
    lines += _ingest(results) + _compare(results) + _answer(results) + _writes(results) + _scale(results) + _scale_ask(results)
    return "\n".join(lines) + "\n"
