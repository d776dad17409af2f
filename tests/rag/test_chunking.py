from __future__ import annotations

import json

import pytest

from domain.types import Document, Exclusion
from rag.boilerplate import mark_boilerplate
from rag.chunking import Chunker, ChunkingConfig
from rag.hash_embedder import HashEmbedder
from tests.conftest import NEWS_DIR, SQUAD_FILE


def make_doc(text: str, **extra) -> Document:
    return Document(doc_id="d", text=text, source="s", title="t", **extra)


def chunker(chunk_tokens=40, overlap=8, max_model_tokens=10_000, embedder=None) -> Chunker:
    embedder = embedder or HashEmbedder(max_tokens=max_model_tokens)
    return Chunker(ChunkingConfig(chunk_tokens=chunk_tokens, overlap_tokens=overlap),
                   max_model_tokens=embedder.max_tokens, count_model_tokens=embedder.count_tokens)


TEXT = " ".join(f"Sentence number {i} talks about topic {i % 7} in some detail." for i in range(60))


def test_every_chunk_is_an_exact_slice_within_budget():
    c = chunker()
    doc = make_doc(TEXT)
    chunks = c.chunk(doc)
    assert len(chunks) > 5
    for chunk in chunks:
        assert doc.text[chunk.char_start:chunk.char_end] == chunk.text
        assert chunk.n_tokens <= 40
    assert [ch.ordinal for ch in chunks] == list(range(len(chunks)))


def test_chunks_cover_the_text_and_overlap_by_whole_sentences():
    chunks = chunker(overlap=16).chunk(make_doc(TEXT))
    assert chunks[0].char_start == 0 and chunks[-1].char_end == len(TEXT)
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert after.char_start < before.char_end, "consecutive chunks should overlap"
        assert TEXT[after.char_start:].startswith("Sentence"), "overlap starts on a sentence boundary"


def test_a_sentence_longer_than_the_budget_is_cut_at_token_boundaries():
    long_sentence = " ".join(["word"] * 500) + "."
    chunks = chunker(chunk_tokens=50, overlap=0).chunk(make_doc(long_sentence))
    assert len(chunks) >= 10
    assert "".join(c.text for c in chunks).replace(" ", "") == long_sentence.replace(" ", "")
    assert all(c.n_tokens <= 50 for c in chunks)


def test_chunks_the_model_would_truncate_are_split_again():
    # The fake model sees only 12 tokens: tiktoken budgets alone would overflow it.
    c = chunker(chunk_tokens=100, overlap=0, max_model_tokens=12)
    chunks = c.chunk(make_doc(TEXT))
    counts = c.count_model_tokens([ch.text for ch in chunks])
    assert max(counts) <= 12
    assert all(TEXT[ch.char_start:ch.char_end] == ch.text for ch in chunks)


def test_chunks_never_span_two_pages():
    page1, page2 = "Rivers flow to the sea. " * 3, "Mountains rise high. " * 3
    text = page1 + "\n\n" + page2
    doc = make_doc(text, page_starts=(0, len(page1) + 2))
    for chunk in chunker(chunk_tokens=200).chunk(doc):
        assert doc.page_of(chunk.char_start) == doc.page_of(chunk.char_end - 1)


def test_excluded_ranges_are_not_chunked():
    text = "The council met on Tuesday.\n\nBy continuing to browse our site you agree to our use of cookies.\n\nEnd."
    start = text.index("By continuing")
    doc = make_doc(text, excluded=(Exclusion(start, text.index("\n\nEnd."), "footer"),))
    chunks = chunker().chunk(doc)
    assert chunks and all("cookies" not in c.text for c in chunks)
    assert " ".join(c.text for c in chunks) == "The council met on Tuesday. End."


def test_config_rejects_nonsense():
    with pytest.raises(ValueError):
        ChunkingConfig(chunk_tokens=100, overlap_tokens=100)


@pytest.mark.integration
def test_no_chunk_of_the_shared_data_is_truncated_by_the_real_model(real_embedder):
    """Nothing is silently truncated: every chunk fits in MiniLM's 256 word pieces."""
    c = Chunker(ChunkingConfig(), max_model_tokens=real_embedder.max_tokens,
                count_model_tokens=real_embedder.count_tokens)
    texts = [p.read_text(encoding="utf-8") for p in sorted(NEWS_DIR.glob("*.txt"))]
    squad = json.loads(SQUAD_FILE.read_text(encoding="utf-8"))
    texts += [para["context"] for article in squad["data"] for para in article["paragraphs"]]
    # A dense text where word pieces outnumber tiktoken tokens, to make the model check bite.
    texts.append(" ".join(f"Zq{i}xv-{i * 7919}" for i in range(3000)))
    for n, text in enumerate(texts):
        [doc] = mark_boilerplate([Document(doc_id=str(n), text=text, source="s", title="t")])
        chunks = c.chunk(doc)
        counts = real_embedder.count_tokens([ch.text for ch in chunks])
        assert max(counts) <= real_embedder.max_tokens, f"document {n} has a chunk of {max(counts)} tokens"
        assert all(text[ch.char_start:ch.char_end] == ch.text for ch in chunks)
