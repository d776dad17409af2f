"""A chunk's sentences (offsets and vectors) packed into text, for engines that store them as a scalar.

Retrieval needs the sentences of ~100 pooled chunks per question, and only those: a vector field
per sentence would keep six times as many vectors as chunks in an engine's memory and need a
filtered scan to gather them. Packed into text pieces keyed by chunk id, they are one primary-key
lookup per question and stay on disk until asked for.

A piece holds, base64-encoded: the sentence count (uint16), each sentence's start and end (int32
pairs), then their vectors as float16 (half the bytes; a dot product moves by about 1e-4, well
under the gaps retrieval ranks by). A piece is at most :data:`PIECE_BYTES` of text, so a chunk
whose sentences do not fit (dozens of them) continues in further pieces.
"""
from __future__ import annotations

import base64

import numpy as np

__all__ = ["PIECE_BYTES", "pack_sentences", "unpack_sentences"]

PIECE_BYTES = 65_535  # what a Milvus VARCHAR holds
_RAW_BYTES = PIECE_BYTES // 4 * 3  # before base64


def _per_piece(dimension: int) -> int:
    return max(1, (_RAW_BYTES - 2) // (8 + 2 * dimension))


def pack_sentences(spans: list[tuple[int, int]], vectors: np.ndarray, dimension: int) -> list[str]:
    """The pieces (at least one) holding these sentences' offsets and vectors."""
    vectors = np.asarray(vectors, dtype=np.float32).reshape(len(spans), dimension)
    step = _per_piece(dimension)
    pieces = []
    for start in range(0, max(len(spans), 1), step):
        part = spans[start:start + step]
        raw = (np.array([len(part)], dtype="<u2").tobytes()
               + np.array(part, dtype="<i4").reshape(-1, 2).tobytes()
               + vectors[start:start + step].astype("<f2").tobytes())
        pieces.append(base64.b64encode(raw).decode("ascii"))
    return pieces


def unpack_sentences(pieces: list[str], dimension: int) -> tuple[list[tuple[int, int]], np.ndarray]:
    """The offsets and (float32) vectors packed by :func:`pack_sentences`, pieces in order."""
    spans: list[tuple[int, int]] = []
    blocks = []
    for piece in pieces:
        raw = base64.b64decode(piece)
        n = int(np.frombuffer(raw, dtype="<u2", count=1)[0])
        offsets = np.frombuffer(raw, dtype="<i4", count=2 * n, offset=2).reshape(n, 2)
        spans += [(int(a), int(b)) for a, b in offsets.tolist()]
        blocks.append(np.frombuffer(raw, dtype="<f2", count=n * dimension, offset=2 + 8 * n).reshape(n, dimension))
    vectors = np.concatenate(blocks).astype(np.float32) if blocks else np.zeros((0, dimension), dtype=np.float32)
    return spans, vectors
