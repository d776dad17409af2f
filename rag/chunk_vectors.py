"""The vectors an ingest stores: every chunk's, and every sentence's of every chunk, in one batched call."""
from __future__ import annotations

from domain.modes import SentenceVectorMode
from domain.types import Chunk
from rag.embed import Embedder
from rag.sentences import split_sentences

__all__ = ["embed_chunks"]


def embed_chunks(embedder: Embedder, documents: list[list[Chunk]], sentence_vectors: SentenceVectorMode, *,
             progress: bool):
    """Vectors for every chunk and every sentence of every chunk, in one batched call.

    Returns, per document: the chunk vectors, each chunk's sentence spans (document offsets),
    and each chunk's sentence vectors. How sentences are embedded is ``sentence_vectors`` (the index's
    setting): on their own ("separate"; a sentence repeated by chunk overlap
    is embedded once) or pooled from their chunk's pass ("late").
    """
    local = [[split_sentences(chunk.text) for chunk in chunks] for chunks in documents]  # chunk offsets
    if sentence_vectors == "late":
        vectors, parts = _embed_late(embedder, documents, local, progress=progress)
    else:
        vectors, parts = _embed_separately(embedder, documents, local, progress=progress)
    spans = [[[(chunk.char_start + a, chunk.char_start + b) for a, b in ranges]
              for chunk, ranges in zip(chunks, doc_local, strict=True)]
             for chunks, doc_local in zip(documents, local, strict=True)]
    return vectors, spans, parts

def _embed_separately(embedder: Embedder, documents: list[list[Chunk]], local, *, progress: bool):
    texts: dict[str, int] = {}

    def row(text: str) -> int:
        return texts.setdefault(text, len(texts))

    plan = [[(row(chunk.text), [row(chunk.text[a:b]) for a, b in ranges])
             for chunk, ranges in zip(chunks, doc_local, strict=True)]
            for chunks, doc_local in zip(documents, local, strict=True)]
    matrix = embedder.encode_documents(list(texts), progress=progress and len(texts) > 64)
    return ([matrix[[row for row, _ in doc_plan]] for doc_plan in plan],
            [[matrix[rows] for _, rows in doc_plan] for doc_plan in plan])

def _embed_late(embedder: Embedder, documents: list[list[Chunk]], local, *, progress: bool):
    texts = [chunk.text for chunks in documents for chunk in chunks]
    matrix, parts = embedder.encode_documents_with_spans(
        texts, [ranges for doc_local in local for ranges in doc_local], progress=progress and len(texts) > 64)
    vectors, sentence_vectors, start = [], [], 0
    for chunks in documents:
        vectors.append(matrix[start:start + len(chunks)])
        sentence_vectors.append(parts[start:start + len(chunks)])
        start += len(chunks)
    return vectors, sentence_vectors
