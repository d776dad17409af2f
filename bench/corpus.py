"""The benchmark's inputs: the SQuAD public split, and a generated corpus of any size.

The generated corpus is new text every run (a seeded word-bigram model trained on the SQuAD
paragraphs and ../shared/corpus/news), so no sentence repeats and nothing is served from a cache.
Nothing generated is kept in the repository.
"""
from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from eval import load_dataset

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

__all__ = ["Squad", "load_squad", "write_squad_jsonl", "generate_corpus", "train_sentences"]

_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Squad:
    """The paragraphs (as records) and the answerable questions with their paragraph's id."""

    records: list[dict[str, str]]
    questions: list[tuple[str, str]]


def load_squad(path: Path, *, limit: int | None = None) -> Squad:
    """The paragraphs of a SQuAD file as records, read by the eval harness (so their ids are the ones
    ``rag eval`` scores by: ``"<title>#<paragraph>"``), and its answerable questions in file order;
    ``limit``: the first paragraphs only, with their questions."""
    dataset = load_dataset(path)
    records = [{"id": d.doc_id, "title": d.title, "text": d.text} for d in dataset.documents or ()]
    questions = [(e.question, e.gold_doc_ids[0]) for e in dataset.examples if e.answerable and e.gold_doc_ids]
    if limit is not None:
        keep = {r["id"] for r in records[:limit]}
        records = records[:limit]
        questions = [q for q in questions if q[1] in keep]
    return Squad(records, questions)


def train_sentences(path: Path) -> list[str]:
    """Every sentence (over 20 characters) of the SQuAD file at ``path``, in file order."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return [s for article in data["data"] for paragraph in article["paragraphs"]
            for s in _SENTENCE_END.split(paragraph["context"]) if len(s) > 20]


def write_squad_jsonl(squad: Squad, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for record in squad.records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def _bigrams(texts: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    following: dict[str, list[str]] = defaultdict(list)
    starts: list[str] = []
    for text in texts:
        words = _WORD.findall(text)
        for a, b in zip(words, words[1:], strict=False):
            following[a].append(b)
            if a.endswith(".") and b[:1].isupper():
                starts.append(b)
    return following, starts or ["The"]


def _sentence(rng: random.Random, following: dict[str, list[str]], starts: list[str]) -> str:
    words = [rng.choice(starts)]
    while len(words) < 40:
        nxt = following.get(words[-1])
        if not nxt:
            break
        words.append(rng.choice(nxt))
        if words[-1].endswith(".") and len(words) >= 6:
            break
    sentence = " ".join(words)
    return sentence if sentence.endswith(".") else sentence + "."


def generate_corpus(out_dir: Path, *, sources: list[str], documents: int, seed: int = 0,
                    sentences_per_document: tuple[int, int] = (25, 45)) -> list[Path]:
    """Write ``documents`` generated ``.txt`` files into ``out_dir``; returns their paths."""
    following, starts = _bigrams(sources)
    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(documents):
        sentences = [_sentence(rng, following, starts) for _ in range(rng.randint(*sentences_per_document))]
        paragraphs = [" ".join(sentences[i:i + 5]) for i in range(0, len(sentences), 5)]
        path = out_dir / f"doc-{n:05d}.txt"
        path.write_text(f"Generated document {n}\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
        paths.append(path)
    return paths
