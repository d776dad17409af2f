"""A deterministic stand-in for an embedding model, for fast tests and demos without torch.

Each word maps to a fixed pseudo-random vector seeded by its hash; a text is the normalized sum
of its words' vectors. Texts sharing words are therefore similar, which is enough to exercise
retrieval, fusion and thresholds end to end.
"""
from __future__ import annotations

import hashlib
import re
from functools import lru_cache

import numpy as np

__all__ = ["HashEmbedder"]

_WORD = re.compile(r"\w+")


class HashEmbedder:
    """Implements :class:`rag.embed.Embedder` with hash-seeded word vectors."""

    def __init__(self, dimension: int = 64, *, max_tokens: int = 256, name: str = "hash-embedder") -> None:
        self.dimension = dimension
        self.max_tokens = max_tokens
        self.name = name
        self.sha256 = hashlib.sha256(f"{name}:{dimension}".encode()).hexdigest()
        self.calls = 0

    @lru_cache(maxsize=65536)  # noqa: B019 - instances are few and long-lived
    def _word_vector(self, word: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
        return np.random.default_rng(seed).standard_normal(self.dimension).astype(np.float32)

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(_WORD.findall(t)) + 2 for t in texts]

    def _embed(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dimension, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            vector += self._word_vector(word)
        norm = np.linalg.norm(vector)
        return vector / norm if norm > 0 else vector

    def encode_documents(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        self.calls += 1
        return np.stack([self._embed(t) for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)

    def encode_documents_with_spans(self, texts: list[str], spans: list[list[tuple[int, int]]], *,
                                    progress: bool = False) -> tuple[np.ndarray, list[np.ndarray]]:
        """Late pooling, imitated: a span's vector leans towards its text's (its words plus half the text)."""
        whole = self.encode_documents(texts)  # counts as the one call
        parts = []
        for text, vector, text_spans in zip(texts, whole, spans, strict=True):
            mixed = [self._embed(text[a:b]) + 0.5 * vector for a, b in text_spans]
            parts.append(np.stack([m / max(float(np.linalg.norm(m)), 1e-12) for m in mixed]).astype(np.float32) if mixed
                         else np.zeros((0, self.dimension), np.float32))
        return whole, parts

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.encode_documents(texts)
