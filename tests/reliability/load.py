"""An open-loop HTTP load generator (asyncio + httpx) for a server on 127.0.0.1.

Requests start on a fixed schedule (``rate`` per second) whether or not earlier ones have
finished, as real users would send them, so a server that falls behind shows it as latency and
errors rather than as a politely slower client. Server memory is sampled from ``/proc`` every second.
Used by ``python -m tests.reliability.load_run`` (the 5-minute run) and ``tests/reliability/test_load.py`` (20 s).
"""
from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from eval import percentile
from bench.stats import rss_mb

__all__ = ["QUESTIONS", "DEFAULT_MIX", "LoadReport", "run_load", "build_index"]

_SHARED = Path(__file__).resolve().parents[3] / "shared"
NEWS_DIR = _SHARED / "corpus" / "news"
SQUAD_FILE = _SHARED / "eval" / "squad2-dev-public.json"

QUESTIONS = (
    "Who is the Chinese ambassador to Norway?",
    "What did the ambassador say about trade?",
    "When did the Chongqing International Consumer Products Expo open?",
    "What did Kharin want to buy?",
    "How many exhibitors came to the expo?",
    "What do Russian businesses want with Chongqing?",
    "Which district hosted the expo?",
    "What was discussed at the New Energy Vehicle Export Industry Summit?",
    "What is the capital of Peru?",          # not in the documents: a no-answer
    "How do I bake sourdough bread?",        # not in the documents: a no-answer
)
# What a chat widget plus an admin page send: questions, document lists, opening a cited document,
# probes and metrics scrapes. Weights, not percentages.
DEFAULT_MIX = {"ask": 25, "list": 30, "show": 25, "health": 10, "metrics": 10}


@dataclass
class LoadReport:
    seconds: float
    rate: float
    sent: int
    statuses: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    rss: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, MB)

    @property
    def error_count(self) -> int:
        return len(self.errors)

    def rss_at(self, t: float, window: float = 5.0) -> float:
        """Median server RSS in ``[t - window, t + window]`` (MB)."""
        near = [mb for s, mb in self.rss if abs(s - t) <= window]
        return statistics.median(near) if near else float("nan")

    def rss_growth(self, start: float) -> float:
        """Relative RSS growth from ``start`` seconds to the end of the run."""
        end = self.rss[-1][0] if self.rss else 0.0
        first = self.rss_at(start)
        return (self.rss_at(end - 5, 5) - first) / first

    def percentile(self, kind: str, q: float) -> float:
        found = percentile(self.latencies.get(kind, []), 100 * q)
        return found * 1000 if found is not None else float("nan")

    def summary(self, *, reference: float) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 1), "target_rate": self.rate,
            "achieved_rate": round(self.sent / self.seconds, 2), "requests": self.sent, "errors": self.error_count,
            "statuses": dict(self.statuses),
            "latency_ms": {kind: {"p50": round(self.percentile(kind, 0.5)), "p95": round(self.percentile(kind, 0.95)),
                                  "p99": round(self.percentile(kind, 0.99)), "n": len(values)}
                           for kind, values in sorted(self.latencies.items())},
            "rss_mb": {"at_reference": round(self.rss_at(reference), 1),
                       "at_end": round(self.rss_at(self.rss[-1][0] - 5, 5), 1) if self.rss else None,
                       "peak": round(max(mb for _, mb in self.rss), 1) if self.rss else None,
                       "growth_pct": round(100 * self.rss_growth(reference), 2) if self.rss else None,
                       "reference_s": reference},
            "first_errors": self.errors[:10],
        }


def _request(kind: str, rng: random.Random, doc_ids: list[str]) -> tuple[str, str, dict[str, Any]]:
    if kind == "ask":
        return "POST", "/ask", {"json": {"question": rng.choice(QUESTIONS), "k": rng.choice((3, 5, 8))}}
    if kind == "list":
        return "GET", "/documents", {"params": {"offset": rng.randrange(3), "limit": rng.choice((10, 50))}}
    if kind == "show":
        return "GET", f"/documents/{rng.choice(doc_ids)}", {}
    if kind == "health":
        return "GET", rng.choice(("/healthz", "/readyz")), {}
    return "GET", "/metrics", {}


async def _run(base_url: str, *, rate: float, seconds: float, mix: dict[str, int], doc_ids: list[str],
               pid: int | None, seed: int, timeout: float, max_in_flight: int) -> LoadReport:
    rng = random.Random(seed)
    kinds, weights = zip(*mix.items(), strict=True)
    total = int(rate * seconds)
    report = LoadReport(seconds=seconds, rate=rate, sent=0)
    in_flight = 0
    limits = httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=max_in_flight)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits) as client:
        start = time.monotonic()

        async def one(kind: str, method: str, path: str, kwargs: dict[str, Any]) -> None:
            nonlocal in_flight
            began = time.monotonic()
            try:
                response = await client.request(method, path, **kwargs)
                report.statuses[f"{kind} {response.status_code}"] += 1
                if response.status_code >= 300:
                    report.errors.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
                elif kind == "ask":
                    body = response.json()
                    if "answers" not in body or "passages" not in body:
                        report.errors.append(f"{method} {path}: malformed answer {str(body)[:200]}")
            except httpx.HTTPError as exc:
                report.statuses[f"{kind} {type(exc).__name__}"] += 1
                report.errors.append(f"{method} {path}: {type(exc).__name__} {exc}")
            finally:
                report.latencies.setdefault(kind, []).append(time.monotonic() - began)
                in_flight -= 1

        async def sample_memory() -> None:
            while True:
                if pid is not None:
                    report.rss.append((time.monotonic() - start, rss_mb(pid)))
                await asyncio.sleep(1.0)

        sampler = asyncio.create_task(sample_memory())
        tasks = []
        for i in range(total):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            kind = rng.choices(kinds, weights)[0]
            if in_flight >= max_in_flight:  # the server is far behind: count it, never queue without bound
                report.statuses[f"{kind} dropped"] += 1
                report.errors.append(f"{kind}: dropped, {in_flight} requests already in flight")
                continue
            in_flight += 1
            report.sent += 1
            tasks.append(asyncio.create_task(one(kind, *_request(kind, rng, doc_ids))))
        await asyncio.gather(*tasks)
        report.seconds = time.monotonic() - start
        sampler.cancel()
    return report


def run_load(base_url: str, *, rate: float, seconds: float, doc_ids: list[str], pid: int | None = None,
             mix: dict[str, int] | None = None, seed: int = 0, timeout: float = 15.0,
             max_in_flight: int = 128) -> LoadReport:
    """Send ``rate`` requests per second for ``seconds`` seconds; returns what came back.

    Runs its event loop on a thread of its own: the caller's thread may already have one running
    (Playwright's sync API leaves one behind in the pytest process).
    """
    from concurrent.futures import ThreadPoolExecutor

    work = _run(base_url, rate=rate, seconds=seconds, mix=mix or DEFAULT_MIX, doc_ids=doc_ids, pid=pid, seed=seed,
                timeout=timeout, max_in_flight=max_in_flight)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()


def build_index(index: Path, *, real_model: bool, squad: bool) -> list[str]:
    """Ingest the corpus (once); returns the document ids."""
    from rag import Pipeline

    if real_model:
        pipeline = Pipeline.open(index)
    else:
        from rag.hash_embedder import HashEmbedder

        pipeline = Pipeline.open(index, embedder=HashEmbedder())
    if not pipeline.documents():
        if NEWS_DIR.is_dir():
            pipeline.ingest([NEWS_DIR])
        if squad and SQUAD_FILE.is_file():
            from eval import load_dataset

            pipeline.ingest_documents(list(load_dataset(SQUAD_FILE).documents))
        if not pipeline.documents():
            pipeline.ingest_record({"id": "note", "text": "The Chinese ambassador to Norway praised the expo."})
    return [d.doc_id for d in pipeline.documents()]
