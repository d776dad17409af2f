"""Service configuration from ``RAG_*`` environment variables.

Build a :class:`Settings` inside :func:`api.create_app` (or in the CLI), never at import time, so
that tests and embedding applications decide when the environment is read.
"""
from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from api.rate_limit import RateLimit, parse_rate_limit

__all__ = ["Settings"]

MIB = 1024 * 1024


class Settings(BaseSettings):
    """Everything the HTTP service can be configured with.

    Attributes:
        index_dir: where the index lives (``RAG_INDEX_DIR``; created when missing): a directory,
            ``milvus-lite:PATH.db`` or ``milvus://HOST:PORT/NAME``. Kept as a string: a path would
            fold the URL's ``//``.
        model_dir: a local sentence-transformers model (``RAG_MODEL_DIR``); default: the bundled one.
        embed_backend: ``onnx``, ``onnx-int8`` or ``torch`` (``RAG_EMBED_BACKEND``); default: the one
            that built the index (``onnx`` for a new index).
        reader_dir: a reader directory (``RAG_READER_DIR``, written by ``rag train-reader``);
            default: the reader shipped in the package.
        sentence_vectors: ``late`` (the default) or ``separate``, for an index the server creates
            (``RAG_SENTENCE_VECTORS``); an existing index keeps its own.
        api_key: when set, writes need ``Authorization: Bearer <key>`` (``RAG_API_KEY``).
        api_key_reads: also require the key for reads: ``/ask``, ``/documents``, ``/metrics``
            (``RAG_API_KEY_READS``).
        cors_origins: origins allowed to call the API from a browser, comma-separated or a JSON
            list; ``*`` for any (``RAG_CORS_ORIGINS``). Empty: same origin only.
        max_upload_mb: the largest upload or request body accepted (``RAG_MAX_UPLOAD_MB``).
        rate_limit: requests allowed per key, and per client address for requests without one, as
            ``N/second``, ``N/minute``, ``N/hour`` or ``N/day`` (``RAG_RATE_LIMIT``); unset: no limit.
        trusted_proxies: addresses or networks of reverse proxies whose ``X-Forwarded-For`` names the
            client (``RAG_TRUSTED_PROXIES``, comma-separated); empty: the header is ignored.
    """

    model_config = SettingsConfigDict(env_prefix="RAG_", extra="ignore")

    index_dir: str | Path = ".rag-index"
    model_dir: Path | None = None
    embed_backend: Literal["onnx", "onnx-int8", "torch"] | None = None
    reader_dir: Path | None = None
    sentence_vectors: Literal["separate", "late"] | None = None
    api_key: SecretStr | None = None
    api_key_reads: bool = False
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_upload_mb: float = Field(default=20.0, gt=0)
    rate_limit: RateLimit | None = None
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("api_key", mode="before")
    @classmethod
    def _blank_key_is_no_key(cls, value: Any) -> Any:
        # An exported-but-empty RAG_API_KEY must not turn into a key everyone knows ("").
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("model_dir", "embed_backend", "reader_dir", mode="before")
    @classmethod
    def _blank_model_is_default(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("rate_limit", mode="before")
    @classmethod
    def _parse_rate_limit(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_rate_limit(value) if value.strip() else None
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        for proxy in value or []:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError as exc:
                raise ValueError(f"RAG_TRUSTED_PROXIES: {proxy!r} is not an IP address or network") from exc
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [origin.strip().rstrip("/") for origin in text.split(",") if origin.strip()]
        return value

    @model_validator(mode="after")
    def _reads_need_a_key(self) -> Settings:
        if self.api_key_reads and self.api_key is None:
            raise ValueError("RAG_API_KEY_READS=true needs RAG_API_KEY to be set")
        return self

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * MIB)
