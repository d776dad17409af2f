"""Measure ``POST /ask`` over HTTP against a real ``rag serve`` with the real model.

Starts ``rag --index DIR serve`` on a free loopback port, uploads the corpus through
``POST /documents``, asks N questions one after another (client-side wall time, keep-alive
connection, after a short warm-up), then sends a burst of 20 bad requests and records what came
back. Prints a JSON report (and writes it with ``--out``).

    .venv/bin/python scripts/measure_http.py                       # ../shared/corpus/news, 200 questions
    .venv/bin/python scripts/measure_http.py --n 500 --out http.json
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench import free_port, wait_ready
from eval import percentile

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "news"

log = logging.getLogger("measure_http")

# Questions about the two shared news articles, plus some they do not answer (no-answer path).
QUESTIONS = [
    "Who is the Chinese ambassador to Norway?",
    "When is the 7th CIIE scheduled to be held?",
    "Where will the 7th China International Import Expo take place?",
    "What does Innovation Norway do?",
    "Who is the regional director for Asia and the Middle East at Innovation Norway?",
    "When was the CIIE established?",
    "How much was bilateral trade between China and Norway in 2023?",
    "Who is the managing director of the Norwegian-Chinese Chamber of Commerce?",
    "Where was the CIIE promotion conference held?",
    "How many exhibitors attended the Chongqing consumer products expo?",
    "How many countries did the exhibitors come from?",
    "How many products were shown at the Chongqing expo?",
    "Where is the Chongqing International Convention and Exhibition Center?",
    "When did the Chongqing International Consumer Products Expo open?",
    "How long did the Chongqing expo last?",
    "Which countries' goods were prominent at the expo?",
    "Who praised the uniqueness of Chinese fashion?",
    "What does Chongqing want to become?",
    "What did Russia want to cooperate with Chongqing on?",
    "What is the boiling point of liquid nitrogen?",
    "How do I bake sourdough bread?",
    "Who won the 1998 football world cup?",
    "What is the capital of Peru?",
    "How many moons does Jupiter have?",
    "What is the airspeed velocity of an unladen swallow?",
]

# Twenty requests a careless or hostile client might send; none may get a 5xx.
BAD_REQUESTS: list[tuple[str, str, str, dict]] = [
    ("empty question", "POST", "/ask", {"json": {"question": ""}}),
    ("whitespace question", "POST", "/ask", {"json": {"question": "  \n\t "}}),
    ("2,001-character question", "POST", "/ask", {"json": {"question": "x" * 2001}}),
    ("k = 0", "POST", "/ask", {"json": {"question": "Who?", "k": 0}}),
    ("k = 51", "POST", "/ask", {"json": {"question": "Who?", "k": 51}}),
    ("k is a string", "POST", "/ask", {"json": {"question": "Who?", "k": "five"}}),
    ("question is a number", "POST", "/ask", {"json": {"question": 42}}),
    ("malformed JSON", "POST", "/ask", {"content": b'{"question": ', "headers": {"content-type": "application/json"}}),
    ("body not UTF-8", "POST", "/ask", {"content": b"\xff\xfe\xfa", "headers": {"content-type": "application/json"}}),
    ("JSON array body", "POST", "/ask", {"json": ["Who?"]}),
    ("unknown field top_k", "POST", "/ask", {"json": {"question": "Who?", "top_k": 3}}),
    ("record without text", "POST", "/documents", {"json": {"title": "no text"}}),
    ("malformed JSON record", "POST", "/documents", {"content": b'{"text": ', "headers": {"content-type": "application/json"}}),
    ("unsupported upload (.exe)", "POST", "/documents", {"files": {"file": ("tool.exe", b"MZ\x90\x00binary")}}),
    ("undecodable upload (Latin-1 .txt)", "POST", "/documents", {"files": {"file": ("a.txt", "Fjørd sædvanlig".encode("latin-1"))}}),
    ("empty upload", "POST", "/documents", {"files": {"file": ("empty.txt", b"")}}),
    ("upload over RAG_MAX_UPLOAD_MB", "POST", "/documents", {"files": {"file": ("big.txt", b"word " * 500_000)}}),
    ("garbled multipart", "POST", "/documents", {"content": b"--b\r\nbroken", "headers": {"content-type": "multipart/form-data; boundary=b"}}),
    ("delete an unknown id", "DELETE", "/documents/no-such-document", {}),
    ("page limit 0", "GET", "/documents", {"params": {"limit": 0}}),
]


def _summary(values_ms: list[float]) -> dict[str, float]:
    return {"n": len(values_ms), "p50": round(percentile(values_ms, 50), 1), "p95": round(percentile(values_ms, 95), 1),
            "p99": round(percentile(values_ms, 99), 1), "mean": round(statistics.fmean(values_ms), 1),
            "min": round(min(values_ms), 1), "max": round(max(values_ms), 1)}


def measure(corpus: Path, index: Path, n: int, warmup: int, max_upload_mb: float) -> dict:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env["RAG_MAX_UPLOAD_MB"] = str(max_upload_mb)
    command = [sys.executable, "-m", "ragcli", "--index", str(index), "serve", "--port", str(port),
               "--log-level", "warning"]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, env=env)
    try:
        ready = wait_ready(base, process=process)
        startup_s = time.perf_counter() - started
        log.info("ready in %.1f s: %s", startup_s, ready)
        with httpx.Client(base_url=base, timeout=60) as client:
            uploads = []
            for path in sorted(p for p in corpus.rglob("*") if p.is_file() and not p.name.startswith(".")):
                t0 = time.perf_counter()
                response = client.post("/documents", files={"file": (path.name, path.read_bytes())})
                uploads.append({"file": path.name, "status": response.status_code,
                                "result": response.json().get("status") or response.json().get("error", {}).get("code"),
                                "ms": round((time.perf_counter() - t0) * 1000, 1)})
            log.info("uploaded: %s", uploads)

            for i in range(warmup):
                client.post("/ask", json={"question": QUESTIONS[i % len(QUESTIONS)]}).raise_for_status()
            wall, server, no_answer, statuses = [], [], 0, {}
            for i in range(n):
                question = QUESTIONS[i % len(QUESTIONS)]
                t0 = time.perf_counter()
                response = client.post("/ask", json={"question": question})
                wall.append((time.perf_counter() - t0) * 1000)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                body = response.json()
                server.append(body["timings_ms"]["total"])
                no_answer += bool(body["no_answer"])

            before = client.get("/documents").json()
            burst = []
            for label, method, path, kwargs in BAD_REQUESTS:
                response = client.request(method, path, **kwargs)
                try:
                    code = response.json()["error"]["code"]
                except (ValueError, KeyError, TypeError):
                    code = None
                burst.append({"request": label, "method": method, "path": path, "status": response.status_code,
                              "code": code})
            after = client.get("/documents").json()
            healthy = client.get("/healthz").status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)

    return {
        "command": " ".join(["rag", "--index", str(index), "serve", "--port", str(port)]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_1m": round(os.getloadavg()[0], 2)},
        "corpus": str(corpus), "documents": ready["documents"] + sum(u["result"] == "added" for u in uploads),
        "startup_s": round(startup_s, 1),
        "uploads": uploads,
        "ask": {"questions": n, "distinct_questions": len(QUESTIONS), "warmup": warmup, "sequential": True,
                "statuses": statuses, "no_answer": no_answer,
                "http_wall_ms": _summary(wall), "server_total_ms": _summary(server)},
        "bad_burst": {"requests": len(burst), "all_4xx": all(400 <= b["status"] < 500 for b in burst),
                      "any_5xx": any(b["status"] >= 500 for b in burst),
                      "index_unchanged": before == after, "healthy_after": healthy, "responses": burst},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="files to upload (default: %(default)s)")
    parser.add_argument("--index", type=Path, help="index directory (default: a fresh temporary one)")
    parser.add_argument("--n", type=int, default=200, help="sequential questions to time (default: 200)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed questions first (default: 5)")
    parser.add_argument("--max-upload-mb", type=float, default=1.0,
                        help="RAG_MAX_UPLOAD_MB for the server, so the oversized upload stays small (default: 1)")
    parser.add_argument("--out", type=Path, help="also write the JSON report here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request drowns the summary
    if not args.corpus.is_dir():
        parser.error(f"no corpus at {args.corpus}")
    with tempfile.TemporaryDirectory(prefix="measure-http-") as tmp:
        report = measure(args.corpus, args.index or Path(tmp) / "index", args.n, args.warmup, args.max_upload_mb)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
