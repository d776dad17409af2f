"""People's feedback as eval questions and training examples: ``rag feedback export``.

* JSONL in the eval harness's format (``rag --index DIR eval --qa FILE``): the right words (``wrong``
  with them shown, or ``correct``: the answer judged right) as the answer and their document's source;
  ``no_answer`` as ``"answers": []``.
* SQuAD 2.0 JSON for ``rag train-reader --qa FILE``: the paragraph around the right words as the context,
  ``answer_start`` relative to it and checked; ``no_answer`` as an impossible question on the passage the
  service read first.

A ``wrong`` verdict without the right words says what is not the answer but not what is: it is left out
of both, and counted.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from domain.feedback import Feedback

__all__ = ["eval_records", "squad_dataset"]


def eval_records(items: Iterable[Feedback]) -> tuple[list[dict[str, Any]], int]:
    """The eval JSONL records, and how many items were left out."""
    records, left_out = [], 0
    for item in items:
        if item.verdict == "no_answer":
            records.append({"id": f"feedback-{item.id}", "question": item.question, "answers": [], "source": None})
        elif item.span is not None:
            records.append({"id": f"feedback-{item.id}", "question": item.question, "answers": [item.span.text],
                            "source": item.source})
        else:
            left_out += 1
    return records, left_out


def _example(item: Feedback) -> dict[str, Any] | None:
    qa: dict[str, Any] = {"id": f"feedback-{item.id}", "question": item.question}
    if item.verdict == "no_answer":
        return {"context": item.context, "qas": [{**qa, "answers": [], "is_impossible": True}]} if item.context else None
    if item.span is None:
        return None
    start = item.span.char_start - item.context_start
    if not 0 <= start or item.context[start:start + len(item.span.text)] != item.span.text:
        raise ValueError(f"feedback {item.id}: its context does not hold its answer at {start}")
    return {"context": item.context, "qas": [{**qa, "answers": [{"text": item.span.text, "answer_start": start}],
                                              "is_impossible": False}]}


def squad_dataset(items: Iterable[Feedback]) -> tuple[dict[str, Any], int]:
    """A SQuAD 2.0 dataset (one article per source document), and how many items were left out."""
    articles: dict[str, list[dict[str, Any]]] = {}
    left_out = 0
    for item in items:
        paragraph = _example(item)
        if paragraph is None:
            left_out += 1
        else:
            articles.setdefault(item.source or "feedback", []).append(paragraph)
    return {"version": "v2.0", "data": [{"title": title, "paragraphs": paragraphs}
                                        for title, paragraphs in articles.items()]}, left_out
