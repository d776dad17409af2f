"""Index builds are cached by content, model and chunking: a second run embeds nothing."""
from __future__ import annotations

import json

import pytest

from eval.cache import cache_key, documents_fingerprint, files_fingerprint, open_cached_index
from eval.datasets import load_squad
from rag.chunking import ChunkingConfig
from rag.hash_embedder import HashEmbedder


def test_second_open_embeds_nothing(squad_file, tmp_path):
    embedder = HashEmbedder()
    documents = load_squad(squad_file).documents
    first = open_cached_index(embedder=embedder, documents=documents, cache_dir=tmp_path / "cache")
    assert not first.cached and first.documents == 4 and first.chunks >= 4
    calls = embedder.calls
    assert calls > 0
    second = open_cached_index(embedder=embedder, documents=documents, cache_dir=tmp_path / "cache")
    assert second.cached and second.key == first.key and second.directory == first.directory
    assert embedder.calls == calls
    assert second.build_seconds == pytest.approx(first.build_seconds, abs=1e-3)
    assert second.pipeline.stats()["documents"] == 4
    build = json.loads((first.directory.parent / "build.json").read_text())
    assert build["documents"] == 4 and build["model"] == embedder.name


def test_the_key_covers_content_model_chunking_and_sentence_vectors(squad_file):
    documents = load_squad(squad_file).documents
    content = documents_fingerprint(documents)
    base = cache_key(content=content, embedder=HashEmbedder(), chunking=ChunkingConfig())
    assert base == cache_key(content=content, embedder=HashEmbedder(), chunking=ChunkingConfig())
    assert base != cache_key(content=documents_fingerprint(documents[:-1]), embedder=HashEmbedder(),
                             chunking=ChunkingConfig())
    assert base != cache_key(content=content, embedder=HashEmbedder(dimension=32), chunking=ChunkingConfig())
    assert base != cache_key(content=content, embedder=HashEmbedder(name="other"), chunking=ChunkingConfig())
    assert base != cache_key(content=content, embedder=HashEmbedder(), chunking=ChunkingConfig(chunk_tokens=100))
    assert base != cache_key(content=content, embedder=HashEmbedder(), chunking=ChunkingConfig(), sentence_vectors="late")


def test_corpus_files_are_fingerprinted_by_bytes(corpus_dir):
    before = files_fingerprint([corpus_dir])
    assert before == files_fingerprint([corpus_dir])
    (corpus_dir / "rivers.md").write_text("# Rivers\n\nChanged.\n")
    assert files_fingerprint([corpus_dir]) != before


def test_a_corpus_is_ingested_once(corpus_dir, tmp_path):
    embedder = HashEmbedder()
    first = open_cached_index(embedder=embedder, corpus=[corpus_dir], cache_dir=tmp_path / "cache")
    assert not first.cached and first.documents == 2
    calls = embedder.calls
    second = open_cached_index(embedder=embedder, corpus=[corpus_dir], cache_dir=tmp_path / "cache")
    assert second.cached and embedder.calls == calls


def test_an_unusable_cached_index_is_rebuilt(squad_file, tmp_path):
    embedder = HashEmbedder()
    documents = load_squad(squad_file).documents
    first = open_cached_index(embedder=embedder, documents=documents, cache_dir=tmp_path / "cache")
    (first.directory / "manifest.json").write_text("{broken")
    again = open_cached_index(embedder=embedder, documents=documents, cache_dir=tmp_path / "cache")
    assert not again.cached


def test_exactly_one_source_of_documents(tmp_path):
    with pytest.raises(ValueError):
        open_cached_index(embedder=HashEmbedder(), cache_dir=tmp_path)
