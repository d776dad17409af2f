"""API keys with scopes: a key reads the documents of its groups (and ``public``) and, with ``write``,
adds and deletes documents within them. Only a digest of the token is ever stored; the token is shown
once, when the key is made."""
from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from domain.access import PUBLIC, FilterError, Scope, parse_groups

__all__ = ["ApiKey", "new_token", "token_digest", "key_name_problem", "issue_key", "TOKEN_PREFIX"]

TOKEN_PREFIX = "rag_"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A key as stored: never its token."""

    name: str
    groups: tuple[str, ...]
    write: bool
    created_at: float

    @property
    def scope(self) -> Scope:
        """What the key reads: its groups and ``public``."""
        return Scope(frozenset({*self.groups, PUBLIC}))

    def to_dict(self) -> dict:
        return {"name": self.name, "groups": list(self.groups), "write": self.write, "created_at": self.created_at}


def new_token() -> str:
    """A fresh token: 256 random bits, URL-safe, with a prefix that secret scanners can recognize."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What is stored and looked up instead of the token. A token is 256 random bits, so one fast hash
    is enough: nothing about it can be guessed from the digest."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue_key(keys: Any, name: str, groups: str | tuple[str, ...], *, write: bool = False) -> tuple[ApiKey, str]:
    """Make a key in ``keys`` (an index's key store, :class:`index.backend.KeyStore`); returns it with its
    token, which exists nowhere else: show it once. Raises ``ValueError`` for a bad name or groups, or a
    name in use."""
    problem = key_name_problem(name)
    if problem:
        raise ValueError(problem)
    try:
        groups = parse_groups(groups)
    except FilterError as exc:
        raise ValueError(f"--groups: {exc}") from exc
    key, token = ApiKey(name, groups, write, time.time()), new_token()
    keys.add(key, token_digest(token))
    return key, token


def key_name_problem(name: object) -> str | None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return "a key name is 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"
    return None
