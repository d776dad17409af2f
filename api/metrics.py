"""Prometheus metrics, one registry per app (so several apps in one process never share counters)."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["Metrics"]

logger = logging.getLogger(__name__)

# /ask takes milliseconds with the bundled model on a CPU; seconds mean trouble.
_ASK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _IndexCollector(Collector):
    """Reads the index counts at scrape time, so they are never stale."""

    def __init__(self, stats: Callable[[], dict[str, object] | None]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            stats = self._stats()
        except Exception:  # a scrape must not fail because the index is being swapped
            logger.warning("could not read index stats for /metrics", exc_info=True)
            return
        if not stats:
            return
        yield GaugeMetricFamily("rag_index_documents", "Documents in the index.", value=float(stats["documents"]))
        yield GaugeMetricFamily("rag_index_chunks", "Chunks in the index.", value=float(stats["chunks"]))
        yield GaugeMetricFamily("rag_index_generation", "Number of the index's last committed write.",
                                value=float(stats["generation"]))


class Metrics:
    """The service's counters and histograms.

    Args:
        stats: returns ``Pipeline.stats()`` (or ``None`` before the pipeline is open).
    """

    def __init__(self, stats: Callable[[], dict[str, object] | None]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("rag_http_requests", "HTTP requests by route, method and status.",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("rag_http_request_duration_seconds", "HTTP request latency by route.",
                                 ["method", "route"], registry=self.registry)
        self.ask_latency = Histogram("rag_ask_duration_seconds", "Time to answer a question (POST /ask).",
                                     buckets=_ASK_BUCKETS, registry=self.registry)
        self.asks = Counter("rag_ask_questions", "Questions answered.", registry=self.registry)
        self.no_answers = Counter("rag_ask_no_answer", "Questions the documents had no answer for.",
                                  registry=self.registry)
        self.rate_limited = Counter("rag_http_rate_limited", "Requests refused with 429 by the rate limit, by what "
                                    "was limited (a key or a client address).", ["by"], registry=self.registry)
        self.feedback = Counter("rag_feedback", "Feedback stored (POST /feedback), by verdict.", ["verdict"],
                                registry=self.registry)
        self.registry.register(_IndexCollector(stats))

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def observe_ask(self, seconds: float, *, no_answer: bool) -> None:
        self.asks.inc()
        self.ask_latency.observe(seconds)
        if no_answer:
            self.no_answers.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
