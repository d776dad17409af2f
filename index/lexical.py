"""BM25 over chunk texts, backed by bm25s.

bm25s indexes are immutable, so every commit rebuilds this one from the chunk texts; that is
linear in the collection and fast (tens of thousands of chunks per second).
"""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

__all__ = ["Bm25Index", "tokenize"]

logger = logging.getLogger(__name__)
# bm25s sets its own logger to DEBUG at import, which prints a line per index build.
logging.getLogger("bm25s").setLevel(logging.WARNING)

_WORD = re.compile(r"\w+", re.UNICODE)
_STOPWORDS = frozenset(bm25s.stopwords.STOPWORDS_EN)
_stemmer = Stemmer.Stemmer("english")
_IDS_FILE = "chunk_ids.npy"
_PARAMS_FILE = "lexical.json"


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop-worded, Snowball-stemmed word tokens."""
    words = [w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]
    return _stemmer.stemWords(words)


class Bm25Index:
    """BM25 scores for chunk ids.

    Args:
        k1, b: the usual BM25 parameters (Lucene variant).
    """

    def __init__(self, *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._bm25: bm25s.BM25 | None = None
        self._ids = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._ids)

    def build(self, chunk_ids: np.ndarray, texts: list[str]) -> None:
        self._ids = np.asarray(chunk_ids, dtype=np.int64)
        if len(texts) == 0:
            self._bm25 = None
            return
        bm25 = bm25s.BM25(k1=self.k1, b=self.b, method="lucene")
        bm25.index([tokenize(t) for t in texts], show_progress=False)
        self._bm25 = bm25

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The top ``k`` (scores, chunk ids), best first; only chunks sharing a term score."""
        if self._bm25 is None or k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        token_ids = self._bm25.get_tokens_ids(tokenize(query))
        if not token_ids:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        scores = self._bm25.get_scores_from_ids(token_ids)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        top = top[scores[top] > 0]
        return scores[top].astype(np.float32), self._ids[top]

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        np.save(path / _IDS_FILE, self._ids)
        (path / _PARAMS_FILE).write_text(json.dumps({"k1": self.k1, "b": self.b, "empty": self._bm25 is None}))
        if self._bm25 is not None:
            self._bm25.save(str(path), show_progress=False)

    @classmethod
    def load(cls, path: Path) -> Bm25Index:
        params = json.loads((path / _PARAMS_FILE).read_text())
        index = cls(k1=params["k1"], b=params["b"])
        index._ids = np.load(path / _IDS_FILE)
        if not params["empty"]:
            index._bm25 = bm25s.BM25.load(str(path), mmap=False, show_progress=False, verbosity=0)
        return index

    @property
    def chunk_ids(self) -> np.ndarray:
        return self._ids
