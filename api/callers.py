"""Who is calling: the caller a request's bearer token names, and what it may read and write.

* ``RAG_API_KEY`` (the service key): reads and writes every group.
* a key made by ``rag keys add`` (stored with the index, as a digest): reads its groups and ``public``;
  with ``--write``, adds and deletes documents within its groups.
* no key: reads ``public`` (unless ``RAG_API_KEY_READS``); writes only while the service has no keys
  at all (no ``RAG_API_KEY``, none in the index): a development set-up.

Keys are looked up in the index, by digest, and remembered for :data:`KEY_TTL_S` seconds (a revoked
key stops working within that time on every replica; an unknown token is remembered as unknown too).
"""
from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

import anyio.to_thread

from domain.access import EVERYTHING, PUBLIC_ONLY, Scope
from domain.keys import ApiKey, token_digest
from rag import Pipeline

__all__ = ["Caller", "KeyCache", "KEY_TTL_S", "SERVICE", "ANONYMOUS", "caller_for_key", "is_service_key"]

KEY_TTL_S = 5.0
_MAX_REMEMBERED = 10_000


@dataclass(frozen=True, slots=True)
class Caller:
    """What one request may do.

    Attributes:
        name: the key's name (``RAG_API_KEY`` for the service key), or None without a key.
        scope: what it reads.
        write: whether it may write at all.
        within: the groups it may write (None: any).
        default_groups: the groups of a document it adds without naming any (None: ``public``).
    """

    name: str | None
    scope: Scope
    write: bool
    within: frozenset[str] | None = None
    default_groups: tuple[str, ...] | None = None


SERVICE = Caller("RAG_API_KEY", EVERYTHING, write=True)
ANONYMOUS = Caller(None, PUBLIC_ONLY, write=False)


def caller_for_key(key: ApiKey) -> Caller:
    return Caller(key.name, key.scope, key.write, frozenset(key.groups) if key.write else None,
                  key.groups if key.write else None)


def is_service_key(token: str, service_key: str | None) -> bool:
    """Compared in time independent of where the strings differ; neither is ever logged."""
    return bool(token) and service_key is not None and hmac.compare_digest(token.encode(), service_key.encode())


class KeyCache:
    """Keys looked up by token digest, remembered for a few seconds (the index is asked in a worker
    thread: on Milvus it is a round trip). Bounded: a flood of made-up tokens cannot grow it past
    :data:`_MAX_REMEMBERED` entries."""

    def __init__(self, *, ttl_s: float = KEY_TTL_S) -> None:
        self._ttl_s = ttl_s
        self._found: dict[str, tuple[ApiKey | None, float]] = {}
        self._any: tuple[bool, float] | None = None

    async def find(self, pipeline: Pipeline, token: str) -> ApiKey | None:
        digest = token_digest(token)
        now = time.monotonic()
        hit = self._found.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        key = await anyio.to_thread.run_sync(pipeline.directory.keys().find, digest)
        if len(self._found) >= _MAX_REMEMBERED:
            self._found.clear()
        self._found[digest] = (key, now + self._ttl_s)
        return key

    async def any(self, pipeline: Pipeline) -> bool:
        """Whether the index holds any key (then requests without one may not write)."""
        now = time.monotonic()
        if self._any is None or self._any[1] <= now:
            found = bool(await anyio.to_thread.run_sync(pipeline.keys))
            self._any = (found, now + self._ttl_s)
        return self._any[0]
