"""BM25 over the chunks, in memory: postings per term, scored for the question's terms only.

What SQLite FTS5 did (``porter unicode61 remove_diacritics 2``, its ``bm25()`` with k1 1.2 and b
0.75), with the same analysis and the same formula, but without FTS5's cost of reading every
matching row through the SQL engine: 49 ms at 250k chunks against a few here (`rag bench --only
scale-ask`). The index is a cache: built from the store's chunks, kept up to date from its change
log and saved beside the vectors (:mod:`index.live_lexical`); a crash can lose a copy, never a fact.

Postings live in segments (a term's chunk slots, ascending, with the term's count in each): a large
one built at load and small ones appended as writes arrive, merged when they pile up. Removed chunks
are marked dead, left out of every statistic and every result, and dropped when segments merge.

Scoring is FTS5's: for each query term t with document frequency n(t) among N live chunks,
``idf = ln((N - n + 0.5) / (n + 0.5))`` (1e-6 when not positive) and a chunk scores
``sum idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avglen))``, its length counting every
token (stop words too), only terms other than stop words indexed.

Every posting of the question's terms is scored, in numpy, and only then the best k are picked. A
top-k algorithm that skips postings (MaxScore, vectorised and exact) was built and measured first: at
250k chunks and k = 50 it took 12.7 ms p50 against 5.2 ms for this, because the 50th-best score is low
and the terms' score bounds loose, so it still looked thousands of candidates up in every list.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.lexical import MAX_QUERY_TERMS, STOPWORDS, stemmer, unaccented

__all__ = ["LexicalIndex", "analyze", "query_terms"]

_TOKEN = re.compile(r"[^\W_]+")  # unicode61: letters and digits; "_" separates
_MERGE_SEGMENTS = 8  # small segments kept before they are merged into one


def analyze(text: str) -> tuple[list[str], int]:
    """(the text's terms as FTS5 would index them, stop words left out; its number of tokens, all counted)."""
    tokens = _TOKEN.findall(unaccented(text.lower()))
    return stemmer("porter").stemWords([t for t in tokens if t not in STOPWORDS]), len(tokens)  # FTS5's stemmer


def query_terms(question: str) -> list[str]:
    """The question's distinct terms, stop words left out (at most 32)."""
    return list(dict.fromkeys(analyze(question)[0]))[:MAX_QUERY_TERMS]


@dataclass(frozen=True)
class _Segment:
    """Postings of some chunks: for ``terms[i]``, slots ``slots[starts[i]:starts[i+1]]`` (ascending) and counts."""

    terms: np.ndarray  # int32, ascending
    starts: np.ndarray  # int64, len(terms) + 1
    slots: np.ndarray  # int32
    counts: np.ndarray  # uint16

    def postings(self, term: int) -> tuple[np.ndarray, np.ndarray] | None:
        i = int(np.searchsorted(self.terms, term))
        if i == len(self.terms) or self.terms[i] != term:
            return None
        lo, hi = self.starts[i], self.starts[i + 1]
        return self.slots[lo:hi], self.counts[lo:hi]

    @property
    def size(self) -> int:
        return len(self.slots)

    @staticmethod
    def build(term_ids: np.ndarray, slots: np.ndarray) -> _Segment:
        """From one (term, slot) pair per token occurrence."""
        keys = (term_ids.astype(np.int64) << 32) | slots.astype(np.int64)
        keys, counts = np.unique(keys, return_counts=True)
        return _Segment.from_keys(keys, np.minimum(counts, 65535).astype(np.uint16))

    @staticmethod
    def from_keys(keys: np.ndarray, counts: np.ndarray) -> _Segment:
        """From ascending (term << 32 | slot) keys with their counts."""
        terms_all = (keys >> 32).astype(np.int32)  # ascending, as the keys are
        first = np.flatnonzero(np.diff(terms_all, prepend=-1))
        return _Segment(terms_all[first], np.append(first, len(keys)).astype(np.int64),
                        (keys & 0xFFFFFFFF).astype(np.int32), counts)

    def keys(self) -> np.ndarray:
        lengths = np.diff(self.starts)
        return (np.repeat(self.terms.astype(np.int64), lengths) << 32) | self.slots.astype(np.int64)

    @staticmethod
    def merge(segments: list[_Segment], keep: np.ndarray, new_slot: np.ndarray) -> _Segment:
        """One segment of these postings, only of slots ``keep`` admits, renumbered by ``new_slot``."""
        keys = np.concatenate([s.keys() for s in segments]) if segments else np.zeros(0, np.int64)
        counts = np.concatenate([s.counts for s in segments]) if segments else np.zeros(0, np.uint16)
        slots = (keys & 0xFFFFFFFF)
        live = keep[slots]
        keys, counts, slots = keys[live], counts[live], slots[live]
        keys = ((keys >> 32) << 32) | new_slot[slots].astype(np.int64)
        order = np.argsort(keys, kind="stable")  # sorted runs, one per segment: a merge, not a full sort
        return _Segment.from_keys(keys[order], counts[order])


@dataclass(frozen=True)
class _Term:
    """A question term's postings (one part per segment) and its IDF."""

    parts: list[tuple[np.ndarray, np.ndarray]]
    idf: float


class LexicalIndex:
    """Chunks' terms, searchable by BM25. Not thread-safe: its owner serialises calls."""

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self._vocab: dict[str, int] = {}
        self._chunk_ids = np.zeros(0, dtype=np.int64)  # by slot, ascending
        self._lengths = np.zeros(0, dtype=np.int32)
        self._alive = np.zeros(0, dtype=bool)
        self._segments: list[_Segment] = []
        self._live = 0
        self._live_tokens = 0

    def __len__(self) -> int:
        return self._live

    @property
    def removed(self) -> int:
        """Chunks removed but still in the postings (until the next compaction)."""
        return len(self._alive) - self._live

    # ---- writing ----

    def add(self, chunk_ids: np.ndarray, bodies: list[str]) -> None:
        """Index chunks (ids greater than any indexed before, as the store hands them out)."""
        if not len(bodies):
            return
        order = np.argsort(chunk_ids, kind="stable")
        chunk_ids = np.asarray(chunk_ids, dtype=np.int64)[order]
        if len(self._chunk_ids) and chunk_ids[0] <= self._chunk_ids[-1]:
            raise ValueError("chunk ids must grow: an id at or below one already indexed")
        vocab = self._vocab
        term_ids, lengths, per_chunk = [], np.zeros(len(bodies), dtype=np.int32), np.zeros(len(bodies), dtype=np.int64)
        for row, i in enumerate(order.tolist()):
            terms, n_tokens = analyze(bodies[i])
            lengths[row], per_chunk[row] = n_tokens, len(terms)
            term_ids.extend(vocab.setdefault(t, len(vocab)) for t in terms)
        first = len(self._chunk_ids)
        slots = np.repeat(np.arange(first, first + len(bodies), dtype=np.int64), per_chunk)
        self._chunk_ids = np.concatenate([self._chunk_ids, chunk_ids])
        self._lengths = np.concatenate([self._lengths, lengths])
        self._segments.append(_Segment.build(np.array(term_ids, dtype=np.int64), slots))
        self._alive = np.concatenate([self._alive, np.ones(len(bodies), dtype=bool)])
        self._live += len(bodies)
        self._live_tokens += int(lengths.sum())
        if len(self._segments) > _MERGE_SEGMENTS:  # the small ones into one; all into one when they outgrow the first
            self._merge(self._segments[1:] if self._segments[0].size > sum(s.size for s in self._segments[1:])
                        else self._segments)

    def remove(self, chunk_ids: np.ndarray) -> None:
        """Forget chunks (ids not indexed are ignored)."""
        slots = self._slots_of(np.asarray(chunk_ids, dtype=np.int64))
        slots = slots[self._alive[slots]]
        self._alive[slots] = False
        self._live -= len(slots)
        self._live_tokens -= int(self._lengths[slots].sum())

    def compact(self) -> None:
        """Drop removed chunks and merge every segment into one."""
        self._merge(self._segments)

    def _merge(self, segments: list[_Segment]) -> None:
        whole = len(segments) == len(self._segments)
        keep = self._alive if whole else np.ones(len(self._alive), dtype=bool)
        new_slot = (np.cumsum(keep) - 1).astype(np.int64)
        merged = _Segment.merge(segments, keep, new_slot)
        if whole:
            self._segments = [merged]
            self._chunk_ids, self._lengths = self._chunk_ids[keep], self._lengths[keep]
            self._alive = np.ones(len(self._chunk_ids), dtype=bool)
        else:
            self._segments = [s for s in self._segments if not any(s is m for m in segments)] + [merged]

    def _slots_of(self, chunk_ids: np.ndarray) -> np.ndarray:
        slots = np.searchsorted(self._chunk_ids, chunk_ids)
        slots = np.minimum(slots, max(len(self._chunk_ids) - 1, 0))
        found = self._chunk_ids[slots] == chunk_ids if len(self._chunk_ids) else np.zeros(len(chunk_ids), bool)
        return slots[found]

    # ---- reading ----

    def search(self, terms: list[str], k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The top ``k`` (scores, chunk ids) for ``terms``, best first; among ``allowed`` chunk ids when given."""
        empty = (np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64))
        if k <= 0 or not self._live:
            return empty
        dead = self._live < len(self._alive)
        admitted = self._alive if dead else None
        if allowed is not None:
            admitted = np.zeros(len(self._alive), dtype=bool)
            admitted[self._slots_of(np.asarray(allowed, dtype=np.int64))] = True
            admitted &= self._alive
        average = self._live_tokens / self._live
        found = [t for term in dict.fromkeys(terms) if (t := self._term(term, dead, average)) is not None]
        if not found:
            return empty
        slots, scores = self._best(found, k, admitted, average)
        if not len(slots):
            return empty
        order = np.lexsort((slots, -np.round(scores, 9)))[:k]  # best first; ties by chunk id, as FTS5 returns them
        return scores[order].astype(np.float32), self._chunk_ids[slots[order]]

    def _term(self, term: str, dead: bool, average: float) -> _Term | None:
        term_id = self._vocab.get(term)
        if term_id is None:
            return None
        found = [p for s in self._segments if (p := s.postings(term_id)) is not None]
        df = sum(int(np.count_nonzero(self._alive[p[0]])) if dead else len(p[0]) for p in found)
        if df == 0:
            return None
        idf = math.log((self._live - df + 0.5) / (df + 0.5))
        idf = idf if idf > 0 else 1e-6
        return _Term(found, idf)

    def _contribution(self, term: _Term, counts: np.ndarray, slots: np.ndarray, average: float) -> np.ndarray:
        k1, b = self.k1, self.b
        tf = counts.astype(np.float64)
        return term.idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * self._lengths[slots] / average))

    def _best(self, terms: list[_Term], k: int, admitted: np.ndarray | None, average: float
              ) -> tuple[np.ndarray, np.ndarray]:
        """At least the ``k`` best slots (fewer if fewer match), with their scores: every admitted posting
        of the question's terms scored and summed per slot (see the module docstring for why not MaxScore)."""
        all_slots, all_scores = [], []
        for term in terms:
            for part_slots, part_counts in term.parts:
                if admitted is not None:
                    keep = admitted[part_slots]
                    part_slots, part_counts = part_slots[keep], part_counts[keep]
                all_slots.append(part_slots)
                all_scores.append(self._contribution(term, part_counts, part_slots, average))
        slots = np.concatenate(all_slots)
        if not len(slots):
            return slots, np.zeros(0)
        totals = np.bincount(slots, weights=np.concatenate(all_scores))
        # A slot has at most one posting per term, so the best k x terms postings by their slot's total
        # hold the k best slots: no pass over every slot, no sort of every posting.
        reach = k * len(terms)
        candidates = slots[np.argpartition(-totals[slots], reach - 1)[:reach]] if reach < len(slots) else slots
        best = np.unique(candidates)
        return best, totals[best]

    def chunk_ids(self) -> np.ndarray:
        return self._chunk_ids[self._alive]

    @property
    def postings(self) -> int:
        return sum(s.size for s in self._segments)

    @property
    def terms(self) -> int:
        return len(self._vocab)

    @property
    def nbytes(self) -> int:
        """Bytes held in arrays (postings, per-chunk ids, lengths and flags; not the vocabulary's strings)."""
        arrays = [self._chunk_ids, self._lengths, self._alive]
        arrays += [a for s in self._segments for a in (s.terms, s.starts, s.slots, s.counts)]
        return sum(a.nbytes for a in arrays)

    # ---- saving ----

    def save(self, path: Path) -> None:
        """Write the index (compacted) to ``path`` (an ``.npz`` file)."""
        self.compact()
        segment = self._segments[0] if self._segments else _Segment.build(np.zeros(0, np.int64), np.zeros(0, np.int64))
        words = np.frombuffer("\n".join(self._vocab).encode(), dtype=np.uint8)
        with open(path, "wb") as f:
            np.savez(f, k1_b=np.array([self.k1, self.b]), vocab=words, chunk_ids=self._chunk_ids, lengths=self._lengths,
                     terms=segment.terms, starts=segment.starts, slots=segment.slots, counts=segment.counts)

    @classmethod
    def load(cls, path: Path) -> LexicalIndex:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as saved:
            k1, b = saved["k1_b"].tolist()
            index = cls(k1, b)
            text = saved["vocab"].tobytes().decode()
            index._vocab = {word: i for i, word in enumerate(text.split("\n"))} if text else {}
            index._chunk_ids = saved["chunk_ids"]
            index._lengths = saved["lengths"]
            index._alive = np.ones(len(index._chunk_ids), dtype=bool)
            index._segments = [_Segment(saved["terms"], saved["starts"], saved["slots"], saved["counts"])]
        index._live = len(index._chunk_ids)
        index._live_tokens = int(index._lengths.sum())
        return index
