"""``ask`` latency: in-process with a per-stage breakdown and a profile, and over HTTP."""
from __future__ import annotations

import cProfile
import http.client
import io
import json
import logging
import os
import pstats
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.serve import free_port, rag_serve_command, serving
from bench.stats import peak_rss_mb, percentiles, rss_mb

__all__ = ["ask_in_process", "profile_asks", "http_load", "start_server", "in_process_server"]

logger = logging.getLogger(__name__)


def ask_in_process(pipeline: Any, questions: list[str], *, warmup: int = 10) -> dict:
    """End-to-end ``pipeline.ask`` latency, the share of questions answered "no answer", and each stage
    timed alone on the same questions."""
    for q in questions[:min(warmup, len(questions) // 2)]:
        pipeline.ask(q)
    total, retrieve, answer, abstained = [], [], [], 0
    for q in questions:
        started = time.perf_counter()
        result = pipeline.ask(q)
        total.append((time.perf_counter() - started) * 1000)
        abstained += result.no_answer
        retrieve.append(result.timings_ms.get("retrieve", float("nan")))
        answer.append(result.timings_ms.get("answer", float("nan")))
    stages: dict[str, list[float]] = {"embed question": [], "dense search (FAISS, 50)": [],
                                      "BM25 search (50)": [], "fetch chunks (SQLite)": []}
    snapshot = pipeline.directory.snapshot()
    for q in questions:
        t0 = time.perf_counter()
        vector = pipeline.embedder.encode_queries([q])[0]
        t1 = time.perf_counter()
        _, ids = snapshot.dense(vector, 50)
        t2 = time.perf_counter()
        snapshot.lexical_search(q, 50)
        t3 = time.perf_counter()
        snapshot.chunks([int(i) for i in ids[:5]])
        t4 = time.perf_counter()
        for name, (a, b) in zip(stages, [(t0, t1), (t1, t2), (t2, t3), (t3, t4)], strict=True):
            stages[name].append((b - a) * 1000)
    return {"total": percentiles(total), "abstained": abstained / max(1, len(questions)),
            "pipeline_timings": {"retrieve": percentiles(retrieve), "answer": percentiles(answer)},
            "stages_alone": {name: percentiles(values) for name, values in stages.items()}}


def profile_asks(pipeline: Any, questions: list[str], out: Path, *, top: int = 25) -> list[dict]:
    """cProfile over ``questions``; writes the full listing and returns the top functions by own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    for q in questions:
        pipeline.ask(q)
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(60)
    stats.sort_stats("tottime").print_stats(40)
    out.write_text(text.getvalue(), encoding="utf-8")
    rows = []
    for (file, line, func), (_, calls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append({"function": f"{Path(file).name}:{line}({func})", "calls": calls,
                     "own_ms_per_ask": tottime * 1000 / len(questions), "cum_ms_per_ask": cumtime * 1000 / len(questions)})
    rows.sort(key=lambda r: -r["own_ms_per_ask"])
    return rows[:top]


@contextmanager
def start_server(index_dir: Path | str, log_file: Path, *, workers: int = 1, timeout: float = 120.0,
                 reader_dir: Path | str | None = None) -> Iterator[dict]:
    """``rag [--reader DIR] --index DIR serve`` on 127.0.0.1 as a child process; yields its pids, port and
    start-up time.

    With several workers, ready means every worker has started (each logs "Application startup
    complete"), and memory is the sum over the worker processes.
    """
    port = free_port()
    command = rag_serve_command(index_dir, port, workers=workers, log_level="warning" if workers == 1 else "info",
                                reader_dir=reader_dir)
    started = time.perf_counter()
    with serving(command, port=port, log_path=log_file, workers=workers, timeout=timeout) as (_, process):
        info: dict[str, Any] = {"pid": process.pid, "port": port, "workers": workers, "command": " ".join(command[1:]),
                                "start_to_ready_s": time.perf_counter() - started}
        pids = _server_pids(process.pid, workers)
        info["rss_after_start_mb"] = _sum(rss_mb(pid) for pid in pids)
        yield info
        info["peak_rss_mb"] = _sum(peak_rss_mb(pid) for pid in pids)


def _server_pids(pid: int, workers: int) -> list[int]:
    """The processes that serve: the server itself, or with several workers, uvicorn's worker children."""
    if workers == 1:
        return [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def _sum(values: Iterable[float | None]) -> float | None:
    found = list(values)
    return None if any(v is None for v in found) else sum(found)


@contextmanager
def in_process_server(app: Any) -> Iterator[dict]:
    """uvicorn in a thread of this process (the smoke run, where the pipeline has a fake embedder)."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    started = time.perf_counter()
    thread.start()
    deadline = started + 30
    while not server.started and time.perf_counter() < deadline:
        time.sleep(0.01)
    info: dict[str, Any] = {"pid": os.getpid(), "port": port, "start_to_ready_s": time.perf_counter() - started,
                            "command": "uvicorn in-process (smoke)"}
    try:
        yield info
        info["peak_rss_mb"] = peak_rss_mb()
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def http_load(port: int, questions: list[str], *, concurrency: int, requests: int, timeout: float = 30.0,
              deadline_s: float = 300.0) -> dict:
    """``requests`` POST /ask from ``concurrency`` threads, each on its own keep-alive connection."""
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []
    next_index = iter(range(requests))
    stop_at = time.perf_counter() + deadline_s

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            while time.perf_counter() < stop_at:
                with lock:
                    n = next(next_index, None)
                if n is None:
                    return
                body = json.dumps({"question": questions[n % len(questions)], "k": 5})
                started = time.perf_counter()
                try:
                    conn.request("POST", "/ask", body=body, headers={"Content-Type": "application/json"})
                    response = conn.getresponse()
                    response.read()
                    ok = response.status == 200
                    problem = f"HTTP {response.status}"
                except (OSError, http.client.HTTPException) as exc:
                    ok, problem = False, type(exc).__name__
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    (latencies.append(elapsed) if ok else errors.append(problem))
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    done = len(latencies) + len(errors)
    return {"concurrency": concurrency, "requests": done, "errors": len(errors), "error_kinds": sorted(set(errors)),
            "seconds": seconds, "requests_per_s": done / seconds if seconds else None, **percentiles(latencies)}
