"""Question–answer datasets: SQuAD v1.1/v2.0 JSON and JSONL question–answer pairs.

A SQuAD file brings its own corpus: every paragraph becomes one document with id
``"{title}#{paragraph_index}"``, and it is the gold document of the questions written from it.
A JSONL file names, per question, the ``source`` file its answer is in; the gold documents are
the indexed documents from that file (see :func:`match_source`).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path, PurePath
from typing import Any, Literal

from domain.errors import DocumentError
from domain.types import Document
from eval.errors import DatasetError
from rag import record_to_document

__all__ = ["QAExample", "QADataset", "load_dataset", "load_squad", "load_jsonl_qa", "match_source",
           "with_gold_documents"]

logger = logging.getLogger(__name__)

DatasetFormat = Literal["squad", "jsonl"]


@dataclass(frozen=True, slots=True)
class QAExample:
    """One question with its gold answers.

    Attributes:
        qid: the question's id, unique in its dataset.
        answers: the gold answer strings; empty when the documents cannot answer it.
        source: JSONL only: the file the answer is in, as written in the dataset.
        gold_doc_ids: the documents that hold the answer (empty if unknown).
    """

    qid: str
    question: str
    answers: tuple[str, ...]
    gold_doc_ids: tuple[str, ...] = ()
    source: str | None = None

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass(frozen=True, slots=True)
class QADataset:
    """The questions of one QA file and, for SQuAD, its documents."""

    name: str
    path: str
    sha256: str
    format: DatasetFormat
    examples: tuple[QAExample, ...]
    documents: tuple[Document, ...] | None = None

    @property
    def n_answerable(self) -> int:
        return sum(e.answerable for e in self.examples)

    @property
    def n_unanswerable(self) -> int:
        return len(self.examples) - self.n_answerable

    def limited(self, limit: int | None) -> QADataset:
        """At most ``limit`` questions, spread evenly over the file so every article is represented.

        The documents stay whole: questions are still asked against the full collection.
        """
        if limit is None or limit >= len(self.examples):
            return self
        if limit < 1:
            raise ValueError("limit must be at least 1")
        n = len(self.examples)
        picked = tuple(self.examples[(i * n) // limit] for i in range(limit))
        return replace(self, examples=picked)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def load_dataset(path: str | os.PathLike[str]) -> QADataset:
    """Read a SQuAD JSON file or a ``.jsonl`` file of question–answer pairs."""
    path = Path(path)
    if path.suffix.lower() == ".jsonl":
        return load_jsonl_qa(path)
    return load_squad(path)


def load_squad(path: str | os.PathLike[str]) -> QADataset:
    """Read SQuAD v1.1 or v2.0 JSON (``{"data": [{"title", "paragraphs": [{"context", "qas"}]}]}``)."""
    path = Path(path)
    data = _read(path)
    try:
        body = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise DatasetError(f"{path}: not SQuAD JSON (no top-level \"data\" list); "
                           "question–answer pairs go in a .jsonl file")
    documents: list[Document] = []
    examples: list[QAExample] = []
    seen: set[str] = set()
    for a, article in enumerate(body["data"]):
        where = f"{path}: data[{a}]"
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
            raise DatasetError(f"{where}: an article needs a \"paragraphs\" list")
        title = str(article.get("title") or f"article-{a}")
        for p, paragraph in enumerate(article["paragraphs"]):
            if not isinstance(paragraph, dict) or not isinstance(paragraph.get("context"), str):
                raise DatasetError(f"{where}.paragraphs[{p}]: a paragraph needs a \"context\" string")
            doc_id = f"{title}#{p}"
            try:
                # SQuAD titles are Wikipedia page names ("European_Union_law"); shown as words
                record = {"id": doc_id, "title": title.replace("_", " "), "text": paragraph["context"]}
                documents.append(record_to_document(record, default_id=doc_id, source=path.name))
            except DocumentError as exc:
                raise DatasetError(f"{where}.paragraphs[{p}]: {exc}") from exc
            for q, qa in enumerate(paragraph.get("qas") or []):
                examples.append(_squad_example(qa, doc_id, f"{where}.paragraphs[{p}].qas[{q}]", seen))
    if not examples:
        raise DatasetError(f"{path}: no questions")
    return QADataset(name=path.name, path=str(path), sha256=_sha256(data), format="squad",
                     examples=tuple(examples), documents=tuple(documents))


def _squad_example(qa: Any, doc_id: str, where: str, seen: set[str]) -> QAExample:
    if not isinstance(qa, dict) or not isinstance(qa.get("question"), str) or not qa["question"].strip():
        raise DatasetError(f"{where}: a question needs a non-empty \"question\" string")
    qid = str(qa.get("id") or where)
    if qid in seen:
        raise DatasetError(f"{where}: duplicate question id {qid!r}")
    seen.add(qid)
    answers: tuple[str, ...] = ()
    if not qa.get("is_impossible", False):
        raw = qa.get("answers") or []
        if not isinstance(raw, list) or not all(isinstance(x, dict) and isinstance(x.get("text"), str) for x in raw):
            raise DatasetError(f"{where}: \"answers\" must be a list of {{\"text\": ...}} objects")
        answers = tuple(x["text"] for x in raw)
    return QAExample(qid=qid, question=qa["question"], answers=answers, gold_doc_ids=(doc_id,))


def load_jsonl_qa(path: str | os.PathLike[str]) -> QADataset:
    """Read ``{"id", "question", "answers": [str, ...], "source": str | null}`` lines.

    ``"answers": []`` marks a question the documents cannot answer.
    """
    path = Path(path)
    data = _read(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 (bad byte at offset {exc.start})") from exc
    examples: list[QAExample] = []
    seen: set[str] = set()
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{where}: invalid JSON: {exc.msg}") from exc
        examples.append(_jsonl_example(record, where, seen))
    if not examples:
        raise DatasetError(f"{path}: no questions")
    return QADataset(name=path.name, path=str(path), sha256=_sha256(data), format="jsonl", examples=tuple(examples))


def _jsonl_example(record: Any, where: str, seen: set[str]) -> QAExample:
    if not isinstance(record, dict):
        raise DatasetError(f"{where}: each line must be a JSON object")
    qid, question, answers, source = (record.get(f) for f in ("id", "question", "answers", "source"))
    if not isinstance(qid, (str, int)) or isinstance(qid, bool) or not str(qid).strip():
        raise DatasetError(f"{where}: \"id\" must be a non-empty string")
    if str(qid) in seen:
        raise DatasetError(f"{where}: duplicate question id {qid!r}")
    if not isinstance(question, str) or not question.strip():
        raise DatasetError(f"{where}: \"question\" must be a non-empty string")
    if not isinstance(answers, list) or not all(isinstance(a, str) and a.strip() for a in answers):
        raise DatasetError(f"{where}: \"answers\" must be a list of non-empty strings ([] = unanswerable)")
    if source is not None and (not isinstance(source, str) or not source.strip()):
        raise DatasetError(f"{where}: \"source\" must be a file name, a path or null")
    seen.add(str(qid))
    return QAExample(qid=str(qid), question=question, answers=tuple(answers), source=source)


def match_source(source: str, doc_source: str) -> bool:
    """Does a dataset's ``source`` name the file a document was ingested from?

    A bare file name matches a document from a file of that name; a path matches the document's
    source path exactly, as the same resolved file, or as its trailing path components
    (``guide/install.md`` matches ``docs/guide/install.md``).
    """
    wanted, have = PurePath(source.replace("\\", "/")), PurePath(doc_source.replace("\\", "/"))
    if len(wanted.parts) == 1:
        return have.name == wanted.name
    if os.path.normpath(str(wanted)) == os.path.normpath(str(have)):
        return True
    if Path(str(wanted)).resolve() == Path(str(have)).resolve():
        return True
    tail = [p for p in wanted.parts if p not in (".", "")]
    return list(have.parts[-len(tail):]) == tail


def with_gold_documents(dataset: QADataset, documents: Iterable[tuple[str, str]]) -> QADataset:
    """Fill in each JSONL question's gold documents from ``(doc_id, source)`` pairs of the index.

    Questions whose ``source`` matches no document keep no gold document (their retrieval cannot
    be scored); they are logged.
    """
    if dataset.format != "jsonl":
        return dataset
    docs = list(documents)
    by_source: dict[str, tuple[str, ...]] = {}
    examples = []
    for example in dataset.examples:
        if example.source is None:
            examples.append(example)
            continue
        if example.source not in by_source:
            by_source[example.source] = tuple(d for d, s in docs if match_source(example.source, s))
            if not by_source[example.source]:
                logger.warning("%s: no indexed document comes from %r", dataset.name, example.source)
        examples.append(replace(example, gold_doc_ids=by_source[example.source]))
    return replace(dataset, examples=tuple(examples))
