"""Rate limits for public use: a token bucket per API key and per client address (``RAG_RATE_LIMIT``).

A request that brings the service's key or a write key spends from that key's bucket; any other
request (no key, or a read key: that one is published in web pages, so it names a page, not a client)
from its client address's bucket, so one script hammering the public widget cannot starve the others,
and a back-end holding a key is not throttled by the public's traffic. ``/healthz`` and ``/readyz`` are
exempt (load balancers poll them). Behind a reverse proxy every request comes from the proxy's
address, so the client's is read from ``X-Forwarded-For`` — but only when the peer is one of
``RAG_TRUSTED_PROXIES``, since anyone can send that header.

Buckets live in the process: with ``rag serve --workers N`` each worker keeps its own, so a client
may get up to N times the limit.
"""
from __future__ import annotations

import hmac
import ipaddress
import math
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_body
from api.metrics import Metrics
from api.middleware import send_json

__all__ = ["RateLimit", "TokenBuckets", "RateLimitMiddleware", "parse_rate_limit", "client_address", "EXEMPT_PATHS"]

EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})
_PERIODS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}
_FORMAT = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour|day)\s*$")


@dataclass(frozen=True, slots=True)
class RateLimit:
    """``requests`` per ``seconds``: the bucket holds that many and refills at that rate."""

    requests: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def __str__(self) -> str:
        period = next(name for name, seconds in _PERIODS.items() if seconds == self.seconds)
        return f"{self.requests}/{period}"


def parse_rate_limit(text: str) -> RateLimit:
    """``"60/minute"`` (or ``/second``, ``/hour``, ``/day``) as a :class:`RateLimit`."""
    match = _FORMAT.match(text)
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"a rate limit is N/second, N/minute, N/hour or N/day with N ≥ 1, such as 60/minute; "
                         f"got {text!r}")
    return RateLimit(int(match.group(1)), _PERIODS[match.group(2)])


class TokenBuckets:
    """One token bucket per name, all with the same limit.

    At most ``max_buckets`` are kept (least recently used first out), so a flood of addresses costs
    bounded memory; a forgotten bucket comes back full, which only ever errs towards letting through.
    """

    def __init__(self, limit: RateLimit, *, clock: Callable[[], float] = time.monotonic,
                 max_buckets: int = 100_000) -> None:
        self.limit = limit
        self._clock = clock
        self._max = max_buckets
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # name -> (tokens, when)

    def take(self, name: str) -> float:
        """Spend a token from ``name``'s bucket: 0 if there was one, else the seconds until there is."""
        now = self._clock()
        tokens, then = self._buckets.pop(name, (float(self.limit.requests), now))
        tokens = min(float(self.limit.requests), tokens + (now - then) * self.limit.per_second)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.limit.per_second
        self._buckets[name] = (tokens, now)
        while len(self._buckets) > self._max:
            self._buckets.popitem(last=False)
        return wait


def _networks(proxies: Iterable[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in proxies if p.strip())


def _is_in(address: str, networks: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(scope: Scope, trusted: tuple) -> str:
    """The client's address: the peer's, or — when the peer is a trusted proxy — the last address in
    ``X-Forwarded-For`` that is not itself a trusted proxy (proxies append what they saw)."""
    peer = (scope.get("client") or ("unknown", 0))[0]
    if not trusted or not _is_in(peer, trusted):
        return peer
    forwarded = ",".join(value.decode("latin-1") for name, value in scope.get("headers", ())
                         if name == b"x-forwarded-for")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_in(hop, trusted):
            return hop
    return hops[0] if hops else peer


class RateLimitMiddleware:
    """Answer ``429`` with ``Retry-After`` to a request whose bucket is empty; count it in ``/metrics``."""

    def __init__(self, app: ASGIApp, *, limit: RateLimit, key: str | None, trusted_proxies: Iterable[str],
                 metrics: Metrics, write_key_name: Callable[[str], Awaitable[str | None]] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.buckets = TokenBuckets(limit, clock=clock)
        self._key = key.encode() if key else None
        self._write_key_name = write_key_name  # the name of the write key a token is, else None
        self._trusted = _networks(trusted_proxies)
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        by, bucket = await self._bucket(scope)
        wait = self.buckets.take(bucket)
        if not wait:
            await self.app(scope, receive, send)
            return
        self._metrics.rate_limited.labels(by).inc()
        retry_after = max(1, math.ceil(wait))
        message = (f"too many requests: the limit is {self.buckets.limit} per "
                   f"{'key' if by == 'key' else 'client address'}; retry in {retry_after} s")
        await send_json(send, 429, error_body("too_many_requests", message),
                        headers=[(b"retry-after", str(retry_after).encode())])

    async def _bucket(self, scope: Scope) -> tuple[str, str]:
        for name, value in scope.get("headers", ()):
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                token = value[7:].strip()
                # A token never becomes a bucket name (names are kept in memory and could be logged).
                if self._key is not None and hmac.compare_digest(token, self._key):
                    return "key", "key:service"
                if self._write_key_name is not None and token:
                    key_name = await self._write_key_name(token.decode("latin-1"))
                    if key_name is not None:
                        return "key", f"key:{key_name}"
        return "address", "address:" + client_address(scope, self._trusted)

