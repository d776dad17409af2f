"""The local engine's API keys: a table in the store, so every process serving the index shares them."""
from __future__ import annotations

import hmac
import json
import sqlite3

from domain.keys import ApiKey
from index.store import Store

__all__ = ["StoreKeys"]


class StoreKeys:
    """The API keys kept in a store's ``api_keys`` table (:class:`index.backend.KeyStore`)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def add(self, key: ApiKey, digest: str) -> None:
        try:
            self._store._query("INSERT INTO api_keys VALUES (?, ?, ?, ?, ?)",
                               (key.name, digest, json.dumps(list(key.groups)), int(key.write), key.created_at))
        except sqlite3.IntegrityError as exc:
            raise ValueError(f"a key named {key.name!r} exists already (revoke it first)") from exc

    def list(self) -> list[ApiKey]:
        rows = self._store._query("SELECT name, groups, write, created_at FROM api_keys ORDER BY name")
        return [ApiKey(r[0], tuple(json.loads(r[1])), bool(r[2]), r[3]) for r in rows]

    def revoke(self, name: str) -> bool:
        with self._store._lock:
            return self._store._db.execute("DELETE FROM api_keys WHERE name = ?", (name,)).rowcount > 0

    def find(self, digest: str) -> ApiKey | None:
        rows = self._store._query("SELECT name, groups, write, created_at, digest FROM api_keys WHERE digest = ?",
                                  (digest,))
        # Found through the index by digest; the comparison itself takes time independent of the contents.
        if not rows or not hmac.compare_digest(rows[0][4], digest):
            return None
        return ApiKey(rows[0][0], tuple(json.loads(rows[0][1])), bool(rows[0][2]), rows[0][3])
