"""Packing a chunk's sentences into text pieces (the Milvus engine's sentence rows)."""
from __future__ import annotations

import base64

import numpy as np
import pytest

from index.sentence_pack import PIECE_BYTES, pack_sentences, unpack_sentences


@pytest.mark.parametrize("n", [0, 1, 7, 63, 64, 200])
def test_offsets_and_vectors_round_trip_in_pieces_that_fit_a_varchar(n):
    rng = np.random.default_rng(n)
    vectors = rng.standard_normal((n, 384)).astype(np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    spans = [(10 * i, 10 * i + 9) for i in range(n)]
    pieces = pack_sentences(spans, vectors, 384)
    assert all(len(piece.encode()) <= PIECE_BYTES for piece in pieces)
    assert len(pieces) == max(1, -(-n // 63))  # 63 sentences of 384-d fit one piece
    got_spans, got = unpack_sentences(pieces, 384)
    assert got_spans == spans and got.dtype == np.float32 and got.shape == (n, 384)
    if n:
        assert np.abs(got - vectors).max() < 1e-3
        query = vectors[0]
        assert np.abs(got @ query - vectors @ query).max() < 1e-3


def test_a_piece_is_plain_base64_text():
    [piece] = pack_sentences([(0, 5)], np.ones((1, 8), dtype=np.float32), 8)
    raw = base64.b64decode(piece, validate=True)
    assert len(raw) == 2 + 8 + 2 * 8
