"""Turning (question, context) pairs into the reader's token windows, and its logits back into spans.

A pair is tokenized as ``[CLS] question [SEP] context [SEP]``; a context longer than one window
is split into overlapping windows (``stride`` tokens shared). The tokenizer's offset mapping ties
every context token to its characters, so a predicted span is always an exact slice of the
context. Position 0 (``[CLS]``) stands for "no answer in this window", as in SQuAD 2.0 readers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

__all__ = ["Windows", "SpanGuess", "configure", "windows_of", "encode_for_training", "encode_for_reading", "decode_spans",
           "MAX_QUESTION_WORDS"]

MAX_QUESTION_WORDS = 48
_WORD = re.compile(r"\w+|[^\w\s]")


def _truncate_question(question: str, words: int = MAX_QUESTION_WORDS) -> str:
    """At most ``words`` words (and punctuation marks) of the question: a longer question is rare, and
    it would crowd out the context."""
    cut = list(_WORD.finditer(question))
    return question if len(cut) <= words else question[:cut[words - 1].end()]


def configure(tokenizer, *, max_length: int, stride: int):
    """Set ``tokenizer`` (a ``tokenizers.Tokenizer``) up to cut pairs into windows; returns it.

    Done once per tokenizer: changing its settings while another thread encodes would race.
    """
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_length, stride=stride, strategy="only_second")
    return tokenizer


def windows_of(tokenizer, questions: list[str], contexts: list[str], *, max_length: int, stride: int
               ) -> list[tuple[int, object]]:
    """``(pair index, encoding)`` for every window of every pair, in order.

    ``tokenizer`` is a ``tokenizers.Tokenizer`` (the reader directory's ``tokenizer.json``) set up
    by :func:`configure` for these ``max_length`` and ``stride``.
    """
    truncation = tokenizer.truncation or {}
    if truncation.get("max_length") != max_length or truncation.get("stride") != stride:
        raise ValueError("configure(tokenizer, max_length=..., stride=...) first")
    pairs = [(_truncate_question(q), c) for q, c in zip(questions, contexts, strict=True)]
    try:
        encodings = tokenizer.encode_batch(pairs)
    except Exception:  # noqa: BLE001 - tokenizers raises a bare Exception when a question leaves no room
        encodings = tokenizer.encode_batch([(_truncate_question(q, 12), c) for q, c in pairs])
    out = []
    for pair, encoding in enumerate(encodings):
        out.append((pair, encoding))
        out.extend((pair, extra) for extra in encoding.overflowing)
    return out


def encode_for_training(tokenizer, questions: list[str], contexts: list[str],
                        answers: list[tuple[int, str] | None], *, max_length: int, stride: int
                        ) -> list[tuple[list[int], list[int], int, int]]:
    """One ``(input_ids, token_type_ids, start, end)`` per window; ``start == end == 0`` when the
    window does not hold the whole answer (or the question has none)."""
    out = []
    for pair, encoding in windows_of(tokenizer, questions, contexts, max_length=max_length, stride=stride):
        offsets = encoding.offsets
        sequence = encoding.sequence_ids
        start = end = 0
        if answers[pair] is not None and 1 in sequence:
            a_start, text = answers[pair]
            a_end = a_start + len(text)
            first = sequence.index(1)
            last = len(sequence) - 1 - sequence[::-1].index(1)
            if offsets[first][0] <= a_start and offsets[last][1] >= a_end:
                s = first
                while s <= last and offsets[s][1] <= a_start:
                    s += 1
                e = last
                while e >= first and offsets[e][0] >= a_end:
                    e -= 1
                if first <= s <= e:
                    start, end = s, e
        out.append((encoding.ids, encoding.type_ids, start, end))
    return out


@dataclass(frozen=True, slots=True)
class Windows:
    """A padded batch of windows ready for the model.

    Attributes:
        pair: which (question, context) pair each window belongs to.
        offsets: ``(windows, tokens, 2)`` character offsets into the pair's context; ``-1`` for
            tokens that are not context (question, special tokens, padding).
    """

    input_ids: np.ndarray
    attention_mask: np.ndarray
    token_type_ids: np.ndarray
    pair: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return len(self.pair)


def encode_for_reading(tokenizer, questions: list[str], contexts: list[str], *, max_length: int,
                       stride: int) -> Windows:
    found = windows_of(tokenizer, questions, contexts, max_length=max_length, stride=stride)
    n = len(found)
    width = max((len(e.ids) for _, e in found), default=0)
    input_ids = np.zeros((n, width), dtype=np.int64)
    token_type_ids = np.zeros((n, width), dtype=np.int64)
    attention_mask = np.zeros((n, width), dtype=np.int64)
    offsets = np.full((n, width, 2), -1, dtype=np.int64)
    for w, (_, encoding) in enumerate(found):
        length = len(encoding.ids)
        input_ids[w, :length] = encoding.ids
        token_type_ids[w, :length] = encoding.type_ids
        attention_mask[w, :length] = 1
        context = np.array([s == 1 for s in encoding.sequence_ids])
        if context.any():
            offsets[w, :length][context] = np.asarray(encoding.offsets)[context]
    return Windows(input_ids, attention_mask, token_type_ids, np.array([p for p, _ in found], dtype=np.int64), offsets)


@dataclass(frozen=True, slots=True)
class SpanGuess:
    """A candidate answer: characters ``[start, end)`` of pair ``pair``'s context.

    ``score`` is the span's start + end logit; ``null`` its window's no-answer logit sum
    (``[CLS]`` start + end), so ``score - null`` says how much the reader prefers the span to
    "no answer here".
    """

    pair: int
    start: int
    end: int
    score: float
    null: float


def decode_spans(start_logits: np.ndarray, end_logits: np.ndarray, windows: Windows, *, top_k: int = 3,
                 max_answer_tokens: int = 30, candidates: int = 20) -> list[list[SpanGuess]]:
    """The ``top_k`` best spans of each pair (best first, distinct character ranges), over all of
    its windows, and an empty list for a pair with no context tokens."""
    n_pairs = int(windows.pair.max()) + 1 if len(windows) else 0
    found: list[dict[tuple[int, int], SpanGuess]] = [{} for _ in range(n_pairs)]
    valid = windows.offsets[:, :, 0] >= 0
    for w in range(len(windows)):
        pair = int(windows.pair[w])
        null = float(start_logits[w, 0] + end_logits[w, 0])
        tokens = np.flatnonzero(valid[w])
        if not len(tokens):
            continue
        s_log, e_log = start_logits[w, tokens], end_logits[w, tokens]
        best_starts = np.argsort(-s_log)[:candidates]
        best_ends = np.argsort(-e_log)[:candidates]
        scores = s_log[best_starts][:, None] + e_log[best_ends][None, :]
        length = best_ends[None, :] - best_starts[:, None]
        scores = np.where((length >= 0) & (length < max_answer_tokens), scores, -np.inf)
        flat = np.argsort(-scores, axis=None)[: top_k * 4]  # a few spare: several may share characters
        for si, ei in zip(*np.unravel_index(flat, scores.shape), strict=True):
            score = float(scores[si, ei])
            if score == -np.inf:
                break
            start = int(windows.offsets[w, tokens[best_starts[si]], 0])
            end = int(windows.offsets[w, tokens[best_ends[ei]], 1])
            known = found[pair].get((start, end))
            if known is None or known.score < score:
                found[pair][(start, end)] = SpanGuess(pair, start, end, score, null)
    return [sorted(spans.values(), key=lambda g: -g.score)[:top_k] for spans in found]
