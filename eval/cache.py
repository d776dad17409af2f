"""Index builds for a dataset, cached so that a second run embeds nothing.

The cache key covers everything that decides what an index holds: the documents' content, the
embedding model (name, weights hash, dimension, token limit), the chunking parameters, and the
source of the modules that cut and tokenize text (so editing the chunker invalidates old builds)::

    CACHE_DIR/<key>/index/        an ordinary index directory
    CACHE_DIR/<key>/build.json    written last: what was built, from what, and how long it took
    CACHE_DIR/<key>.lock          held while building, so concurrent runs build once
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from domain.errors import IndexStoreError
from rag import iter_files

if TYPE_CHECKING:
    from rag import ChunkingConfig, Embedder, Pipeline
    from domain.types import Document

__all__ = ["BuiltIndex", "DEFAULT_CACHE_DIR", "cache_key", "documents_fingerprint", "files_fingerprint",
           "open_cached_index"]

logger = logging.getLogger(__name__)

DEFAULT_CACHE_DIR = ".eval-cache"
CACHE_FORMAT = 1
# Modules whose code decides what an index holds: chunk boundaries, indexed text, what is embedded
# at ingest, the stored layout. Editing any of them invalidates cached builds. The embedder's code is
# not among them: by the index contract the model's name and weights hash identify its vectors.
_INDEX_CODE = ("rag.chunking", "rag.sentences", "rag.boilerplate", "rag.html_page", "rag.loaders", "rag.pipeline",
               "index", "index.backend", "index.directory", "index.lexical", "index.live", "index.migrate",
               "index.milvus", "index.store", "index.store_schema", "index.vectors")
_BUILD_FILE = "build.json"


@dataclass(frozen=True, slots=True)
class BuiltIndex:
    """An opened pipeline over a (possibly cached) index build.

    Attributes:
        cached: the index was already built; nothing was embedded this time.
        seconds: the time this run spent getting the index (building it, or just opening it).
        build_seconds: how long building it took, this run or when it was cached.
    """

    pipeline: Pipeline
    directory: Path
    key: str
    cached: bool
    seconds: float
    build_seconds: float
    documents: int
    chunks: int
    skipped: tuple[str, ...] = ()


def _code_fingerprint() -> str:
    digest = hashlib.sha256()
    for name in _INDEX_CODE:
        module = importlib.import_module(name)
        digest.update(name.encode())
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()


def documents_fingerprint(documents: Iterable[Document]) -> str:
    """A hash of documents' ids, text, title, source and metadata, in order."""
    digest = hashlib.sha256()
    for doc in documents:
        record = [doc.doc_id, doc.text, doc.title, doc.source, doc.metadata]
        digest.update(json.dumps(record, ensure_ascii=False, sort_keys=True).encode())
        digest.update(b"\0")
    return digest.hexdigest()


def files_fingerprint(paths: Sequence[str | os.PathLike[str]]) -> str:
    """A hash of every file ``rag ingest PATH...`` would read: its path as given and its bytes."""
    digest = hashlib.sha256()
    for path in iter_files(paths):
        digest.update(f"{path}\0{path.resolve()}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def cache_key(*, content: str, embedder: Embedder, chunking: ChunkingConfig,
              sentence_vectors: str = "separate", engine: str = "local") -> str:
    """The cache key of an index of ``content`` (a fingerprint) built with this model and chunking."""
    parts = {
        "sentence_vectors": sentence_vectors,
        **({"engine": engine} if engine != "local" else {}),
        "format": CACHE_FORMAT,
        "content": content,
        "model": [embedder.name, embedder.sha256, embedder.dimension, embedder.max_tokens],
        "chunking": chunking.to_dict(),
        "code": _code_fingerprint(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _location(engine: str, root: Path, key: str) -> str | Path:
    if engine == "local":
        return root / "index"
    if engine == "milvus-lite":
        return f"milvus-lite:{root / 'index.db'}"
    return f"{engine.rstrip('/')}/eval_{key[:20]}"  # a server: the collections live there, the build file here


def open_cached_index(*, embedder: Embedder, documents: Sequence[Document] | None = None,
                      corpus: Sequence[str | os.PathLike[str]] | None = None, chunking: ChunkingConfig | None = None,
                      cache_dir: str | os.PathLike[str] = DEFAULT_CACHE_DIR, progress: bool = False,
                      sentence_vectors: str | None = None, engine: str = "local", **options: float) -> BuiltIndex:
    """Open the cached index of ``documents`` (or of the files under ``corpus``), building it if needed.

    Args:
        embedder: the embedding model; part of the key.
        documents: in-memory documents (a SQuAD file's paragraphs).
        corpus: files and directories, ingested like ``rag ingest`` would.
        sentence_vectors: how a new index embeds sentences (see :meth:`rag.Pipeline.open`; default: what a
            new index gets); part of the key.
        engine: ``"local"`` (an index directory), ``"milvus-lite"`` (Milvus embedded in a file) or
            ``"milvus://HOST:PORT"`` (a collection on that server, named by the key); part of the key.
        options: passed to :meth:`rag.Pipeline.open` (answerer options such as ``no_answer_threshold``).
    """
    from rag import DEFAULT_SENTENCE_VECTORS, ChunkingConfig, Pipeline

    sentence_vectors = sentence_vectors or DEFAULT_SENTENCE_VECTORS

    if (documents is None) == (corpus is None):
        raise ValueError("give exactly one of documents and corpus")
    chunking = chunking or ChunkingConfig()
    started = time.perf_counter()
    content = documents_fingerprint(documents) if documents is not None else files_fingerprint(corpus)
    key = cache_key(content=content, embedder=embedder, chunking=chunking, sentence_vectors=sentence_vectors,
                    engine=engine)
    root = Path(cache_dir) / key
    location = _location(engine, root, key)
    build_file = root / _BUILD_FILE
    with _lock(Path(cache_dir) / f"{key}.lock"):
        if build_file.is_file():
            try:
                build = json.loads(build_file.read_text(encoding="utf-8"))
                pipeline = Pipeline.open(location, embedder=embedder, chunking=chunking, create=False, **options)
                stats = pipeline.stats()
                logger.info("using the cached index %s (%s documents)", root, stats["documents"])
                return BuiltIndex(pipeline, root / "index", key, True, time.perf_counter() - started,
                                  float(build["seconds"]), int(stats["documents"]), int(stats["chunks"]),
                                  tuple(build.get("skipped", ())))
            except (IndexStoreError, OSError, ValueError, KeyError) as exc:
                logger.warning("the cached index %s is unusable (%s); rebuilding it", root, exc)
                build_file.unlink(missing_ok=True)
                shutil.rmtree(root / "index", ignore_errors=True)
                (root / "index.db").unlink(missing_ok=True)
        logger.info("building the index %s", root)
        pipeline = Pipeline.open(location, embedder=embedder, chunking=chunking, create=True,
                                 sentence_vectors=sentence_vectors, **options)
        if documents is not None:
            report = pipeline.ingest_documents(list(documents), progress=progress)
        else:
            report = pipeline.ingest(list(corpus), progress=progress)
        skipped = tuple(f"{s.source}: {s.reason}" for s in report.skipped)
        for line in skipped:
            logger.warning("not indexed: %s", line)
        seconds = time.perf_counter() - started
        stats = pipeline.stats()
        body = {"key": key, "content": content, "model": embedder.name, "model_sha256": embedder.sha256,
                "chunking": chunking.to_dict(), "sentence_vectors": sentence_vectors,
                "documents": stats["documents"], "chunks": stats["chunks"],
                "seconds": round(seconds, 3), "skipped": list(skipped), "built_at": time.time()}
        root.mkdir(parents=True, exist_ok=True)  # a server's index leaves nothing else here
        tmp = build_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(body, indent=2), encoding="utf-8")
        os.replace(tmp, build_file)
        return BuiltIndex(pipeline, root / "index", key, False, seconds, seconds, int(stats["documents"]),
                          int(stats["chunks"]), skipped)
