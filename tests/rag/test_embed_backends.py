"""The ONNX backends of the embedder against the torch reference (real bundled model)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rag import IndexMismatchError, ModelError, Pipeline
from rag.embed import DEFAULT_MODEL_NAME, DEFAULT_MODEL_SHA256, SentenceTransformerEmbedder

pytestmark = pytest.mark.integration

SQUAD_FILE = Path(__file__).resolve().parents[2].parent / "shared" / "eval" / "squad2-dev-public.json"


@pytest.fixture(scope="module")
def texts() -> list[str]:
    data = json.loads(SQUAD_FILE.read_text(encoding="utf-8"))["data"]
    paragraphs = [p["context"] for article in data for p in article["paragraphs"]][:24]
    questions = [qa["question"] for article in data for p in article["paragraphs"] for qa in p["qas"]][:24]
    return paragraphs + questions + [" ".join(paragraphs[:4])]  # the last one is longer than 256 tokens


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def torch_embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(backend="torch")


@pytest.fixture(scope="module")
def onnx_embedder(onnx_cache: Path) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(backend="onnx", cache_dir=onnx_cache)


@pytest.fixture(scope="module")
def int8_embedder(onnx_cache: Path) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(backend="onnx-int8", cache_dir=onnx_cache)


def test_onnx_float_computes_the_torch_vectors_and_keeps_the_identity(torch_embedder, onnx_embedder, texts):
    assert (onnx_embedder.name, onnx_embedder.sha256) == (DEFAULT_MODEL_NAME, DEFAULT_MODEL_SHA256)
    assert onnx_embedder.count_tokens(texts) == torch_embedder.count_tokens(texts)
    cosine = (onnx_embedder.encode_documents(texts) * torch_embedder.encode_documents(texts)).sum(axis=1)
    assert cosine.min() > 0.9999


def test_int8_is_close_but_has_its_own_identity(torch_embedder, int8_embedder, texts):
    assert int8_embedder.name == DEFAULT_MODEL_NAME + "+onnx-int8"
    assert int8_embedder.sha256 != DEFAULT_MODEL_SHA256
    vectors = int8_embedder.encode_documents(texts)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    cosine = (vectors * torch_embedder.encode_documents(texts)).sum(axis=1)
    assert cosine.min() > 0.97 and cosine.mean() > 0.985


def test_an_index_built_with_float_refuses_int8(tmp_path, onnx_embedder, int8_embedder):
    Pipeline.open(tmp_path / "index", embedder=onnx_embedder)
    with pytest.raises(IndexMismatchError, match="onnx-int8"):
        Pipeline.open(tmp_path / "index", embedder=int8_embedder)


def test_the_export_is_cached(onnx_cache, int8_embedder):
    files = sorted(p.name for p in onnx_cache.rglob("*.onnx"))
    assert files == ["model-int8.onnx", "model.onnx"]
    assert not [p for p in onnx_cache.rglob(".export-*")]  # no leftovers of the work folder


def test_the_default_backend_is_onnx_float():
    assert SentenceTransformerEmbedder.__init__.__kwdefaults__["backend"] == "onnx"


def test_unknown_backend_is_a_model_error():
    with pytest.raises(ModelError, match="onnx-int8"):
        SentenceTransformerEmbedder(backend="tensorrt")


def test_the_weights_hash_is_remembered_and_redone_when_the_file_changes(tmp_path):
    from rag.embed import _weights_sha256
    from rag.provenance import file_sha256

    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"one")
    cache = tmp_path / "cache"
    assert _weights_sha256(weights, cache) == file_sha256(weights)
    assert len(list((cache / "sha256").iterdir())) == 1
    weights.write_bytes(b"three")  # another size: another key
    assert _weights_sha256(weights, cache) == file_sha256(weights)


def test_pool_spans_averages_the_tokens_that_start_inside_each_span():
    from rag.embed import pool_spans

    states = np.array([[9.0, 9.0], [1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [5.0, 5.0]])
    offsets = [(0, 0), (0, 3), (4, 7), (8, 12), (0, 0)]  # [CLS] "one" "two" "four" [SEP]
    whole, parts = pool_spans(states, offsets, [(0, 7), (8, 13), (13, 20)])
    np.testing.assert_allclose(whole, np.array([18.0, 16.0]) / np.linalg.norm([18.0, 16.0]), rtol=1e-6)
    np.testing.assert_allclose(parts[0], [1.0, 0.0])  # the special tokens belong to no span
    np.testing.assert_allclose(parts[1], [0.0, 1.0])
    np.testing.assert_allclose(parts[2], whole)  # a span with no token left gets the text's vector


def test_span_vectors_come_from_the_same_pass_on_every_backend(torch_embedder, onnx_embedder, int8_embedder, texts):
    from rag.sentences import split_sentences

    paragraphs = texts[:6]
    spans = [split_sentences(p) for p in paragraphs]
    whole, parts = onnx_embedder.encode_documents_with_spans(paragraphs, spans)
    # the text's own vector is exactly what encode_documents gives
    assert (whole * onnx_embedder.encode_documents(paragraphs)).sum(axis=1).min() > 0.99999
    alone = onnx_embedder.encode_documents([p[a:b] for p, s in zip(paragraphs, spans) for a, b in s])
    late = np.vstack(parts)
    assert late.shape == alone.shape and np.allclose(np.linalg.norm(late, axis=1), 1.0, atol=1e-5)
    cosine = (late * alone).sum(axis=1)  # the same sentence, read in its paragraph: close, not equal
    assert 0.6 < cosine.min() and cosine.max() < 0.9999 and cosine.mean() > 0.8
    torch_whole, torch_parts = torch_embedder.encode_documents_with_spans(paragraphs, spans)
    assert (torch_whole * whole).sum(axis=1).min() > 0.9999
    assert (np.vstack(torch_parts) * late).sum(axis=1).min() > 0.9999
    _, int8_parts = int8_embedder.encode_documents_with_spans(paragraphs, spans)
    assert (np.vstack(int8_parts) * late).sum(axis=1).min() > 0.97
    with pytest.raises(ValueError, match="one list of spans per text"):
        onnx_embedder.encode_documents_with_spans(paragraphs, spans[:-1])
