"""The :class:`Pipeline` facade: the one object the CLI, the HTTP API and the eval harness call."""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path

from tqdm import tqdm

from domain.access import Scope
from domain.errors import DocumentError, DocumentNotFoundError, InvalidQuestionError, PermissionDeniedError
from domain.feedback import Feedback
from domain.keys import ApiKey, issue_key, token_digest
from domain.limits import check_doc_id, document_problem, metadata_problem, text_problem
from domain.modes import SENTENCE_VECTOR_MODES, SentenceVectorMode
from domain.types import AskResult, Document, DocumentInfo, ExcludedText, IngestReport, Passage, SkippedFile
from index import (CheckReport, IndexBackend, IndexSettings, SentenceVectors, StoredChunk, VectorIndexKind,
                   open_index, stored_settings)
from rag.answer import Answerer, citation_for
from rag.boilerplate import mark_boilerplate
from rag.chunking import Chunker, ChunkingConfig
from rag.embed import Embedder
from rag.chunk_vectors import embed_chunks
from rag.feedback import build_feedback
from rag.labels import content_hash, labelled, same_embedding, where_scope, writable
from rag.loaders import iter_files, load_bytes, load_file, record_to_document
from rag.retrieve import Candidate, Retriever, RetrievalMode

__all__ = ["Pipeline", "where_scope", "MAX_QUESTION_CHARS", "MAX_K", "SentenceVectorMode", "SENTENCE_VECTOR_MODES", "DEFAULT_BACKEND",
           "DEFAULT_SENTENCE_VECTORS", "content_hash"]

logger = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
MAX_K = 50

# How many documents (or characters of text) `Pipeline.ingest` embeds and commits at a time.
INGEST_BATCH_DOCUMENTS = 256
INGEST_BATCH_CHARS = 8_000_000
# What a new index is built with when nothing else is said (README, "Speed": why these).
DEFAULT_BACKEND = "onnx-int8"
DEFAULT_SENTENCE_VECTORS: SentenceVectorMode = "late"


def _excluded_text(doc: Document) -> ExcludedText:
    by_reason: dict[str, int] = {}
    for ex in doc.excluded:
        by_reason[ex.reason] = by_reason.get(ex.reason, 0) + ex.end - ex.start
    return ExcludedText(doc.doc_id, doc.source, sum(by_reason.values()), by_reason)


class Pipeline:
    """Ingest documents into an index directory and answer questions from it.

    Build one with :meth:`open`. Safe to share between threads: reads run concurrently, writes are
    serialized, and readers see the previous state until a write is complete.
    """

    def __init__(self, directory: IndexBackend, embedder: Embedder, *, retriever: Retriever | None = None,
                 answerer: Answerer | None = None) -> None:
        self.directory = directory
        self.embedder = embedder
        self.chunking = ChunkingConfig(**directory.settings.chunking)
        self.chunker = Chunker(self.chunking, max_model_tokens=embedder.max_tokens,
                               count_model_tokens=embedder.count_tokens)
        self.retriever = retriever or Retriever()
        self.answerer = answerer or Answerer()

    @classmethod
    def open(cls, index_dir: str | os.PathLike[str], *, embedder: Embedder | None = None,
             model_dir: str | os.PathLike[str] | None = None, backend: str | None = None,
             chunking: ChunkingConfig | None = None, vector_index: VectorIndexKind = "auto",
             sentence_vectors: SentenceVectorMode | None = None, create: bool = True,
             reader_dir: str | os.PathLike[str] | None = None, **options: float) -> Pipeline:
        """Open (or create) the index at ``index_dir``.

        Args:
            embedder: the embedding model; default: a :class:`~rag.embed.SentenceTransformerEmbedder`
                for ``model_dir`` and ``backend``.
            model_dir: a local sentence-transformers model; default: the bundled all-MiniLM-L6-v2.
            backend: ``"onnx"``, ``"onnx-int8"`` or ``"torch"``; default: the one that computes the
                vectors the existing index holds (:data:`DEFAULT_BACKEND` for a new index).
            chunking: for a new index; an existing index keeps the chunking it was built with.
            vector_index: for a new index: ``"auto"`` (exact, then approximate past a size, checked:
                :mod:`index.vector_switch`), ``"flat"`` or ``"ivf-sq8"``; an existing index keeps its own.
            sentence_vectors: for a new index: ``"late"`` (the default) pools each sentence's vector
                from its chunk's forward pass; ``"separate"`` embeds every sentence again on its own,
                about twice the embedding work for slightly more precise sentence scores (README,
                "Speed"). An existing index keeps its own.
            create: make an empty index if there is none.
            reader_dir: a reader directory (``rag train-reader``); default: the shipped reader. An
                index does not depend on the reader: any reader reads any index.
            options: ``no_answer_threshold``, ``read_sentences`` and the like, passed to the
                :class:`~rag.answer.Answerer`.

        Raises:
            IndexMismatchError: the index was built with another embedding model.
        """
        sentence_vectors = sentence_vectors or DEFAULT_SENTENCE_VECTORS
        if sentence_vectors not in SENTENCE_VECTOR_MODES:
            raise ValueError(f"sentence_vectors must be one of {SENTENCE_VECTOR_MODES}, not {sentence_vectors!r}")
        if embedder is None:
            from rag.embed import SentenceTransformerEmbedder, backend_for

            if backend is None:
                stored = stored_settings(index_dir)
                backend = backend_for(stored.model_name) if stored is not None else DEFAULT_BACKEND
            embedder = SentenceTransformerEmbedder(model_dir, backend=backend)
        chunking = chunking or ChunkingConfig()
        settings = IndexSettings(model_name=embedder.name, model_sha256=embedder.sha256, dimension=embedder.dimension,
                                 tokenizer=chunking.tokenizer, chunking=chunking.to_dict(), vector_index=vector_index,
                                 sentence_vectors=sentence_vectors)
        directory = open_index(index_dir, settings, create=create)
        answerer = Answerer(reader_dir=reader_dir, **options) if reader_dir is not None or options else None
        return cls(directory, embedder, answerer=answerer)

    # ---- ingesting ----

    def ingest(self, paths: Iterable[str | os.PathLike[str]], *, include: list[str] | None = None,
               exclude: list[str] | None = None, progress: bool = False, keep_boilerplate: bool = False,
               groups: tuple[str, ...] | None = None, metadata: dict | None = None) -> IngestReport:
        """Ingest files and directories. Bad files are skipped and listed in the report, never fatal.

        Files are committed in batches (:data:`INGEST_BATCH_DOCUMENTS` documents or
        :data:`INGEST_BATCH_CHARS` characters), so a large folder is neither held in memory whole
        nor committed file by file; a crash loses at most the batch in flight. Lines repeated
        across the files of a batch are evidence of boilerplate (site menus, running heads);
        ``keep_boilerplate`` indexes every line. ``groups`` (default: public) and ``metadata`` (added to each
        document's own; these keys win) label every document.
        """
        started = time.perf_counter()
        report = IngestReport()
        batch: list[Document] = []
        problem = None if metadata is None else metadata_problem(metadata)
        if problem:
            raise DocumentError(f"metadata: {problem}")
        files = list(iter_files(paths, include=include, exclude=exclude))
        for path in tqdm(files, desc="ingesting", unit="file", disable=not progress or len(files) < 2):
            try:
                loaded, bad = load_file(path)
            except DocumentError as exc:
                report.skipped.append(SkippedFile(str(path), str(exc)))
                logger.info("skipped %s: %s", path, exc)
                continue
            batch.extend(labelled(doc, groups, metadata) for doc in loaded)
            report.skipped.extend(bad)
            if len(batch) >= INGEST_BATCH_DOCUMENTS or sum(len(d.text) for d in batch) >= INGEST_BATCH_CHARS:
                report.merge(self.ingest_documents(batch, keep_boilerplate=keep_boilerplate))
                batch = []
        if batch:  # one file alone shows the embedding's own progress
            report.merge(self.ingest_documents(batch, progress=progress and len(files) == 1,
                                               keep_boilerplate=keep_boilerplate))
        report.seconds = time.perf_counter() - started
        return report

    def ingest_bytes(self, data: bytes, *, filename: str, doc_id: str | None = None,
                     groups: tuple[str, ...] | None = None, within: frozenset[str] | None = None) -> IngestReport:
        """Ingest an uploaded file (``groups``: of every document in it; ``within``: as for
        :meth:`ingest_documents`). Raises :class:`DocumentError` if it cannot be loaded."""
        safe_name = Path(filename.replace("\\", "/")).name or "upload"
        if doc_id is not None:
            check_doc_id(doc_id)
        default_id = doc_id or hashlib.sha256(f"upload:{safe_name}".encode()).hexdigest()[:16]
        docs, skipped = load_bytes(data, filename=safe_name, source=f"upload:{safe_name}", doc_id=default_id)
        report = self.ingest_documents([labelled(doc, groups, None) for doc in docs], within=within)
        report.skipped[:0] = skipped
        return report

    def ingest_record(self, record: dict, *, source: str = "api", within: frozenset[str] | None = None,
                      default_groups: tuple[str, ...] | None = None) -> IngestReport:
        """Ingest one ``{"id"?, "title"?, "text", "metadata"?, "groups"?}`` record (ids default to a hash of
        the text; groups to ``default_groups``, else public). ``within``: as for :meth:`ingest_documents`."""
        text = record.get("text") if isinstance(record, dict) else None
        # surrogatepass: text that is not valid Unicode gets an id here and is refused, with why, below
        default_id = hashlib.sha256(str(text).encode("utf-8", "surrogatepass")).hexdigest()[:16]
        doc = record_to_document(record, default_id=default_id, source=source)
        if default_groups and record.get("groups") is None:
            doc = dataclasses.replace(doc, groups=default_groups)
        return self.ingest_documents([doc], within=within)

    def ingest_documents(self, docs: list[Document], *, progress: bool = False, keep_boilerplate: bool = False,
                         within: frozenset[str] | None = None) -> IngestReport:
        """Add or update documents; unchanged ones (same content hash) are not embedded again, and ones
        whose groups or metadata alone changed are relabelled without being embedded again.

        ``within``: the groups the caller may write (None: any). A document is then skipped, and listed
        in ``report.denied``, when its groups, or those of the stored document it would replace, are not
        all among them.

        Boilerplate is marked first (:mod:`rag.boilerplate`), with lines repeated across ``docs`` as
        evidence; ``keep_boilerplate`` indexes every line instead.
        """
        started = time.perf_counter()
        report = IngestReport()
        latest = {}
        for doc in docs:
            problem = document_problem(doc)  # documents made in Python come here without a loader's checks
            if problem:
                report.skipped.append(SkippedFile(doc.source, problem))
                logger.info("skipped %s: %s", doc.source, problem)
            else:
                latest[doc.doc_id] = doc  # the last of duplicate ids wins
        if keep_boilerplate:
            latest = {doc_id: dataclasses.replace(doc, excluded=()) for doc_id, doc in latest.items()}
        else:
            latest = {doc.doc_id: doc for doc in mark_boilerplate(list(latest.values()))}
        with self.directory.writer() as writer:
            if within is not None:
                latest = writable(writer, latest, within, report)
            known = writer.content_hashes(list(latest))
            todo = []
            for doc in latest.values():
                digest = content_hash(doc)
                if known.get(doc.doc_id) == digest:
                    report.unchanged.append(doc.doc_id)
                elif same_embedding(known.get(doc.doc_id), doc, digest):
                    writer.relabel(doc, digest)
                    report.updated.append(doc.doc_id)
                else:
                    todo.append((doc, digest))
            chunked = []
            for doc, digest in todo:
                chunks = self.chunker.chunk(doc)
                if chunks:
                    chunked.append((doc, digest, chunks))
                else:
                    report.skipped.append(SkippedFile(doc.source, "nothing to index (blank)"))
            vectors, sentences, sentence_vectors = embed_chunks(self.embedder, [chunks for _, _, chunks in chunked],
                                                               self.directory.settings.sentence_vectors, progress=progress)
            for (doc, digest, chunks), chunk_vectors, spans, span_vectors in zip(
                    chunked, vectors, sentences, sentence_vectors, strict=True):
                removed = writer.put(doc, digest, chunks, chunk_vectors, spans, span_vectors)
                (report.updated if doc.doc_id in known else report.added).append(doc.doc_id)
                if doc.excluded:
                    report.excluded.append(_excluded_text(doc))
                report.chunks_added += len(chunks)
                report.chunks_removed += len(removed)
            writer.commit()
        report.seconds = time.perf_counter() - started
        return report

    def delete(self, doc_id: str, *, scope: Scope | None = None, within: frozenset[str] | None = None) -> None:
        """Remove a document from every store.

        Raises:
            DocumentNotFoundError: no such document, or none ``scope`` admits.
            PermissionDeniedError: it belongs to a group outside ``within`` (the groups the caller may write).
        """
        if scope is not None and self.directory.snapshot(scope).document(doc_id) is None:
            raise DocumentNotFoundError(f"no document with id {doc_id!r}")
        with self.directory.writer() as writer:
            groups = writer.stored_groups([doc_id]).get(doc_id)
            if groups is not None and within is not None and not set(groups) <= within:
                raise PermissionDeniedError("this document belongs to groups this key may not write to: "
                                            f"{', '.join(sorted(set(groups) - within))}")
            if writer.delete(doc_id) is None:
                raise DocumentNotFoundError(f"no document with id {doc_id!r}")
            writer.commit()

    # ---- reading ----

    def documents(self, *, offset: int = 0, k: int | None = None, scope: Scope | None = None) -> list[DocumentInfo]:
        """The documents ``scope`` admits (default: all), in the order they were added."""
        return self.directory.snapshot(scope).documents(offset=offset, k=k)

    def document(self, doc_id: str, *, scope: Scope | None = None) -> Document:
        """Raises :class:`DocumentNotFoundError` if there is none, or none ``scope`` admits."""
        doc = self.directory.snapshot(scope).document(doc_id)
        if doc is None:
            raise DocumentNotFoundError(f"no document with id {doc_id!r}")
        return doc

    def stats(self, *, scope: Scope | None = None) -> dict[str, object]:
        """Counts of what ``scope`` admits (default: everything), the model and its dimension."""
        return {**self.directory.snapshot(scope).stats(), "model": self.embedder.name,
                "dimension": self.embedder.dimension}

    # ---- feedback ----

    def record_feedback(self, question: str, verdict: str, *, answer: dict | None = None, note: str | None = None,
                        scope: Scope | None = None, key_name: str | None = None) -> Feedback:
        """Check and store a person's verdict on the answer to ``question`` (:mod:`rag.feedback`): ``answer``
        points at the right words (``{"doc_id", "char_start", "char_end"}``, in a document ``scope``
        admits). Raises :class:`~domain.errors.InvalidFeedbackError` saying what is wrong; nothing is
        stored then."""
        item = build_feedback(self, question, verdict, answer, note, scope=scope, key_name=key_name)
        return dataclasses.replace(item, id=self.directory.feedback().add(item))

    def feedback(self, *, since: float | None = None) -> list[Feedback]:
        """The feedback stored since ``since`` (seconds since 1970; None: all), oldest first."""
        return self.directory.feedback().list(since)

    # ---- keys ----

    def add_key(self, name: str, groups: tuple[str, ...], *, write: bool = False) -> tuple[ApiKey, str]:
        """Make a key (stored with the index, as a digest); returns it with its token, shown this once.
        Raises ``ValueError`` for a bad name or groups, or a name in use."""
        return issue_key(self.directory.keys(), name, groups, write=write)

    def keys(self) -> list[ApiKey]:
        return self.directory.keys().list()

    def revoke_key(self, name: str) -> bool:
        return self.directory.keys().revoke(name)

    def key_for(self, token: str) -> ApiKey | None:
        """The key whose token this is, or None."""
        return self.directory.keys().find(token_digest(token))

    def check(self) -> CheckReport:
        return self.directory.check()

    def repair(self) -> CheckReport:
        return self.directory.repair()

    # ---- asking ----

    @staticmethod
    def _validate(question: str, k: int) -> str:
        if not isinstance(question, str) or not question.strip():
            raise InvalidQuestionError("the question is empty")
        if len(question) > MAX_QUESTION_CHARS:
            raise InvalidQuestionError(f"the question is longer than {MAX_QUESTION_CHARS} characters")
        problem = text_problem(question, what="the question")
        if problem:
            raise InvalidQuestionError(problem)
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise InvalidQuestionError(f"k must be an integer from 1 to {MAX_K}")
        return question.strip()

    def retrieve(self, question: str, *, k: int = 5, mode: RetrievalMode = "hybrid",
                 scope: Scope | None = None) -> list[Passage]:
        """The ``k`` most relevant passages among those ``scope`` admits, best first."""
        question = self._validate(question, k)
        snapshot = self.directory.snapshot(scope)
        vector = self.embedder.encode_queries([question])[0] if mode != "bm25" else None
        candidates = self.retriever.search(snapshot, question, vector, k=k, mode=mode)
        return self._passages(candidates, snapshot.chunks([c.chunk_id for c in candidates]))

    @staticmethod
    def _passages(candidates: list[Candidate], stored: dict[int, StoredChunk]) -> list[Passage]:
        """The candidates still in the store, as passages cited to their chunk."""
        return [
            Passage(text=chunk.text, score=c.score, citation=citation_for(chunk, chunk.char_start, chunk.char_end))
            for c in candidates if (chunk := stored.get(c.chunk_id)) is not None
        ]

    def ask(self, question: str, *, k: int = 5, mode: RetrievalMode = "hybrid", scope: Scope | None = None
            ) -> AskResult:
        """Answer with extracts from the documents ``scope`` admits (default: all), or say there is no
        answer in them."""
        t0 = time.perf_counter()
        question = self._validate(question, k)
        snapshot = self.directory.snapshot(scope)
        vector = self.embedder.encode_queries([question])[0]
        sentences: SentenceVectors = {}  # filled by hybrid and dense retrieval, which score them
        candidates = self.retriever.search(snapshot, question, vector, k=k, mode=mode, sentences=sentences)
        stored = snapshot.chunks([c.chunk_id for c in candidates])
        passages = self._passages(candidates, stored)
        chunks = [stored[p.citation.chunk_id] for p in passages]
        if missing := [c.chunk_id for c in chunks[: self.answerer.passages] if c.chunk_id not in sentences]:
            sentences.update(snapshot.sentences(missing))
        t1 = time.perf_counter()
        answers = self.answerer.answer(question, vector, chunks, sentences, fused_scores=[p.score for p in passages])
        t2 = time.perf_counter()
        return AskResult(
            question=question, no_answer=answers.no_answer, confidence=answers.confidence,
            no_answer_threshold=self.answerer.threshold, signals=answers.signals,
            answers=answers.answers, passages=passages,
            timings_ms={"retrieve": (t1 - t0) * 1000, "answer": (t2 - t1) * 1000,
                        "total": (time.perf_counter() - t0) * 1000},
        )

    def read(self, question: str, doc_id: str, *, scope: Scope | None = None) -> AskResult:
        """Answer from one document only: the reader reads all of it (no retrieval). This is the
        reading-comprehension setting (``rag eval --gold-passage``); ``passages`` are its chunks.

        Raises:
            DocumentNotFoundError: no such document.
        """
        t0 = time.perf_counter()
        question = self._validate(question, 1)
        snapshot = self.directory.snapshot(scope)
        chunks = snapshot.document_chunks(doc_id)
        if not chunks:
            raise DocumentNotFoundError(f"no document with id {doc_id!r}")
        sentences = snapshot.sentences([c.chunk_id for c in chunks])
        answers = self.answerer.read_chunks(question, chunks, sentences)
        passages = [Passage(text=c.text, score=0.0, citation=citation_for(c, c.char_start, c.char_end)) for c in chunks]
        t1 = time.perf_counter()
        return AskResult(
            question=question, no_answer=answers.no_answer, confidence=answers.confidence,
            no_answer_threshold=self.answerer.reading_threshold, signals=answers.signals,
            answers=answers.answers, passages=passages,
            timings_ms={"retrieve": 0.0, "answer": (t1 - t0) * 1000, "total": (t1 - t0) * 1000})

