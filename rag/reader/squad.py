"""Reading SQuAD-format question–answer files for the reader: questions with their paragraph.

The SQuAD 2.0 JSON layout (``{"data": [{"title", "paragraphs": [{"context", "qas": [...]}]}]}``) is
what users write their own question–answer pairs in, and what the training data ships as. Every
answer is checked to be the slice of its paragraph it claims to be; one that is not is dropped with
a warning (a wrong offset would teach the reader the wrong span).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from domain.errors import DocumentError

__all__ = ["ReadingExample", "read_squad"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReadingExample:
    """One question asked against one paragraph.

    Attributes:
        answers: ``(char_start, text)`` of each gold answer in ``context``; empty when unanswerable.
        article: the index of the paragraph's article in its file (for splits by article).
    """

    qid: str
    question: str
    context: str
    answers: tuple[tuple[int, str], ...]
    title: str = ""
    article: int = 0

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def read_squad(path: Path) -> list[ReadingExample]:
    """Every question of a SQuAD v1.1/v2.0 JSON file, in file order.

    Raises:
        DocumentError: the file is not SQuAD-shaped JSON.
    """
    try:
        body = json.loads(Path(path).read_text(encoding="utf-8"))
        articles = body["data"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DocumentError(f"{path}: not a SQuAD JSON file ({exc})") from exc
    examples: list[ReadingExample] = []
    dropped = 0
    for article_index, article in enumerate(articles):
        title = str(article.get("title", ""))
        for paragraph in article.get("paragraphs", []):
            context = paragraph["context"]
            for qa in paragraph.get("qas", []):
                answers = []
                if not qa.get("is_impossible", False):
                    for answer in qa.get("answers", []):
                        start, text = int(answer["answer_start"]), answer["text"]
                        if text and context[start:start + len(text)] == text:
                            answers.append((start, text))
                        else:
                            dropped += 1
                    if not answers:
                        continue  # answerable, but no answer survived the check: nothing to learn
                examples.append(ReadingExample(qid=str(qa["id"]), question=qa["question"], context=context,
                                               answers=tuple(dict.fromkeys(answers)), title=title,
                                               article=article_index))
    if dropped:
        logger.warning("%s: %d answers were not the slice of their paragraph they claim; dropped", path, dropped)
    return examples
