"""API keys with scopes: a key reads the documents of its groups (and ``public``) and, with ``write``,
adds and deletes documents within them. Only a digest of the token is ever stored; the token is shown
once, when the key is made."""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from domain.access import PUBLIC, Scope

__all__ = ["ApiKey", "new_token", "token_digest", "key_name_problem", "TOKEN_PREFIX"]

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


def key_name_problem(name: object) -> str | None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return "a key name is 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"
    return None
