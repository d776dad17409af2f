"""Eight clients ask while a ninth uploads, updates and deletes documents, all through HTTP.

The writer's operations are a deterministic sequence, so the same sequence can be replayed
afterwards, one call at a time, into a fresh index with no readers at all. That replay gives the
reference: the final index must equal it (documents, chunks and vectors), and since chunk ids are
never reused, every chunk a reader was ever cited must be one the replay created at some point,
with the same document, offsets and text.
"""
from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

__all__ = ["Operation", "operations", "run_concurrency", "replay", "index_contents", "validate_answers",
           "chunk_history", "validate_citations", "engine_contents"]

_WORDS = [f"{a}{b}" for a in ("bra", "cle", "dro", "fen", "gla", "hor", "jin", "kel", "mur", "pon", "sta", "vor")
          for b in ("mit", "dal", "ross", "vane", "lup", "tor", "nix", "bel", "cor", "wen")]
DOC_IDS = [f"c{n:02d}" for n in range(16)]


@dataclass(frozen=True)
class Operation:
    """One write: ``upload`` (multipart file), ``record`` (JSON) or ``delete``."""

    kind: str
    doc_id: str
    text: str = ""
    filename: str = ""
    title: str = ""
    marker: str = ""


def _text(rng: random.Random, marker: str) -> str:
    sentences = [" ".join(rng.choices(_WORDS, k=rng.randint(6, 14))).capitalize() + "."
                 for _ in range(rng.randint(6, 30))]
    sentences.insert(rng.randrange(len(sentences)), f"The beacon {marker} shines over the bay.")
    return "\n\n".join(" ".join(sentences[i:i + 4]) for i in range(0, len(sentences), 4)) + "\n"


def operations(seed: int, *, prefix: str = ""):
    """The writer's endless, deterministic sequence of operations (each valid when it comes), on the
    documents ``PREFIXc00`` … ``PREFIXc15`` (writers with different prefixes never touch one document)."""
    rng = random.Random(seed)
    present: dict[str, Operation] = {}
    n = 0
    while True:
        n += 1
        roll = rng.random()
        if present and (roll < 0.25 or len(present) == len(DOC_IDS)):
            doc_id = rng.choice(sorted(present))
            del present[doc_id]
            yield Operation("delete", doc_id)
            continue
        if present and roll < 0.35:
            yield present[rng.choice(sorted(present))]  # the same content again: "unchanged"
            continue
        doc_id = prefix + rng.choice(DOC_IDS)
        marker = f"m{n}x{doc_id}".replace("-", "")
        if roll < 0.7:
            op = Operation("upload", doc_id, _text(rng, marker), filename=f"{doc_id}-{n}.txt", marker=marker)
        else:
            op = Operation("record", doc_id, _text(rng, marker), title=f"Record {doc_id} v{n}", marker=marker)
        present[doc_id] = op
        yield op


def _send(client: httpx.Client, op: Operation) -> httpx.Response:
    if op.kind == "delete":
        return client.delete(f"/documents/{op.doc_id}")
    if op.kind == "upload":
        return client.post("/documents", files={"file": (op.filename, op.text.encode(), "text/plain")},
                           data={"id": op.doc_id})
    return client.post("/documents", json={"id": op.doc_id, "title": op.title, "text": op.text,
                                           "metadata": {"marker": op.marker}})


def _apply(pipeline, op: Operation) -> None:
    """The same operation, straight into a pipeline (as the API's handlers call it)."""
    if op.kind == "delete":
        pipeline.delete(op.doc_id)
    elif op.kind == "upload":
        pipeline.ingest_bytes(op.text.encode(), filename=op.filename, doc_id=op.doc_id)
    else:
        pipeline.ingest_record({"id": op.doc_id, "title": op.title, "text": op.text, "metadata": {"marker": op.marker}})


@dataclass
class ConcurrencyRun:
    seconds: float
    applied: list[Operation] = field(default_factory=list)
    write_statuses: list[int] = field(default_factory=list)
    asks: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def run_concurrency(base_url: str | list[str], *, seconds: float, readers: int = 8, writers: int = 1,
                    seed: int = 0) -> ConcurrencyRun:
    """``readers`` threads ask questions while ``writers`` threads write, for ``seconds`` seconds.

    Given several base URLs (replicas of one index), writer ``w`` writes through replica ``w`` and
    reader ``n`` asks through replica ``n``, round robin; writers work on separate documents, so any
    interleaving of their writes ends in the same state. ``run.applied`` lists the writes in the order
    they completed.
    """
    bases = [base_url] if isinstance(base_url, str) else list(base_url)
    run = ConcurrencyRun(seconds=seconds)
    markers: list[str] = []
    stop = threading.Event()
    lock = threading.Lock()
    expected = {"upload": {201}, "record": {201}, "delete": {204}}

    def writer(w: int) -> None:
        with httpx.Client(base_url=bases[w % len(bases)], timeout=60) as client:
            for op in operations(seed + w, prefix=f"w{w}-" if writers > 1 else ""):
                if stop.is_set():
                    return
                try:
                    response = _send(client, op)
                except httpx.HTTPError as exc:
                    with lock:
                        run.errors.append(f"{op.kind} {op.doc_id}: {type(exc).__name__} {exc}")
                    stop.set()
                    return
                with lock:
                    run.applied.append(op)
                    run.write_statuses.append(response.status_code)
                    if response.status_code not in expected[op.kind]:
                        run.errors.append(f"{op.kind} {op.doc_id}: {response.status_code} {response.text[:300]}")
                    if op.marker:
                        markers.append(op.marker)

    def reader(n: int) -> None:
        rng = random.Random(f"reader-{seed}-{n}")
        with httpx.Client(base_url=bases[n % len(bases)], timeout=60) as client:
            while not stop.is_set():
                with lock:
                    marker = rng.choice(markers) if markers and rng.random() < 0.8 else None
                question = f"Where does the beacon {marker} shine?" if marker else "What shines over the bay?"
                try:
                    response = client.post("/ask", json={"question": question, "k": rng.choice((3, 5, 10))})
                except httpx.HTTPError as exc:
                    with lock:
                        run.errors.append(f"ask: {type(exc).__name__} {exc}")
                    continue
                with lock:
                    if response.status_code != 200:
                        run.errors.append(f"ask: {response.status_code} {response.text[:300]}")
                    else:
                        run.asks.append(response.json())

    threads = [threading.Thread(target=writer, args=(w,), name=f"writer-{w}") for w in range(writers)]
    threads += [threading.Thread(target=reader, args=(n,), name=f"reader-{n}") for n in range(readers)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    return run


@dataclass
class History:
    """Every chunk the sequential replay ever created: id → (doc id, start, end, text, document text)."""

    chunks: dict[int, tuple[str, int, int, str, str]] = field(default_factory=dict)


def replay(pipeline, applied: list[Operation]) -> History:
    """Apply the operations one by one with no reader; record every chunk that ever existed."""
    history = History()
    for op in applied:
        _apply(pipeline, op)
        snapshot = pipeline.directory.snapshot()
        ids = [int(i) for i in snapshot.store.chunk_ids()]
        new = [i for i in ids if i not in history.chunks]
        for chunk_id, chunk in snapshot.chunks(new).items():
            history.chunks[chunk_id] = (chunk.doc_id, chunk.char_start, chunk.char_end, chunk.text,
                                        snapshot.document(chunk.doc_id).text)
    return history


def validate_answers(asks: list[dict[str, Any]], history: History) -> list[str]:
    """Every passage and answer cites a chunk the replay created, with its document, offsets and text."""
    problems = []
    for body in asks:
        for passage in body["passages"]:
            c = passage["citation"]
            known = history.chunks.get(c["chunk_id"])
            if known is None or known[:4] != (c["doc_id"], c["char_start"], c["char_end"], passage["text"]):
                problems.append(f"passage cites chunk {c['chunk_id']} of {c['doc_id']} that never existed as such")
        for answer in body["answers"]:
            c = answer["citation"]
            known = history.chunks.get(c["chunk_id"])
            if known is None or known[0] != c["doc_id"]:
                problems.append(f"answer cites chunk {c['chunk_id']} of {c['doc_id']} that never existed")
            elif not (known[1] <= c["char_start"] < c["char_end"] <= known[2]) \
                    or known[4][c["char_start"]:c["char_end"]] != answer["text"]:
                problems.append(f"answer {answer['text']!r} is not its chunk's text at its offsets")
    return problems


def index_contents(index_dir: Path, embedder) -> dict[str, Any]:
    """Everything that defines an index's state, for comparing two of them (timestamps left out)."""
    from index.store import Store
    from rag import Pipeline

    pipeline = Pipeline.open(index_dir, embedder=embedder)
    snapshot = pipeline.directory.snapshot()
    docs = {}
    for info in pipeline.documents():
        doc = pipeline.document(info.doc_id)
        docs[info.doc_id] = (doc.title, doc.source, doc.metadata, doc.text, info.content_hash, info.n_chunks)
    chunk_ids = [int(i) for i in snapshot.store.chunk_ids()]
    chunks = {i: (c.doc_id, c.ordinal, c.char_start, c.char_end, c.text) for i, c in snapshot.chunks(chunk_ids).items()}
    store: Store = snapshot.store
    vector_ids, vectors = store.vectors(snapshot.settings.dimension)
    return {"documents": docs, "chunks": chunks, "faiss_ids": sorted(int(i) for i in snapshot._live.ids()),
            "vector_ids": vector_ids.tolist(), "vectors": np.asarray(vectors), "check": pipeline.check().problems}


# ---- the same checks for any engine (Milvus numbers chunks itself, so chunks are compared by content) ----

ChunkKey = tuple[str, int, int, str]  # doc id, start, end, text


def chunk_history(pipeline, applied: list[Operation]) -> dict[ChunkKey, str]:
    """Apply the operations one by one with no reader; every chunk that ever existed, by content,
    with its document's text at the time."""
    history: dict[ChunkKey, str] = {}
    for op in applied:
        _apply(pipeline, op)
        snapshot = pipeline.directory.snapshot()
        for info in pipeline.documents():
            text = snapshot.document(info.doc_id).text
            for chunk in snapshot.document_chunks(info.doc_id):
                history.setdefault((chunk.doc_id, chunk.char_start, chunk.char_end, chunk.text), text)
    return history


def validate_citations(asks: list[dict[str, Any]], history: dict[ChunkKey, str]) -> list[str]:
    """Every passage is a chunk the replay created; every answer quotes such a chunk's document exactly."""
    problems = []
    by_doc: dict[str, list[tuple[ChunkKey, str]]] = {}
    for key, text in history.items():
        by_doc.setdefault(key[0], []).append((key, text))
    for body in asks:
        for passage in body["passages"]:
            c = passage["citation"]
            if (c["doc_id"], c["char_start"], c["char_end"], passage["text"]) not in history:
                problems.append(f"a passage cites {c['doc_id']} [{c['char_start']}:{c['char_end']}], never a chunk")
        for answer in body["answers"]:
            c = answer["citation"]
            if not any(key[1] <= c["char_start"] < c["char_end"] <= key[2]
                       and text[c["char_start"]:c["char_end"]] == answer["text"] for key, text in by_doc.get(c["doc_id"], [])):
                problems.append(f"answer {answer['text']!r} is in no chunk of {c['doc_id']} at its offsets")
    return problems


def engine_contents(pipeline) -> dict[str, Any]:
    """Documents and their chunks (by ordinal, without ids), for comparing indexes on any engines."""
    snapshot = pipeline.directory.snapshot()
    docs, chunks = {}, {}
    for info in pipeline.documents():
        doc = pipeline.document(info.doc_id)
        docs[info.doc_id] = (doc.title, doc.source, doc.metadata, doc.text, info.content_hash, info.n_chunks)
        chunks[info.doc_id] = [(c.ordinal, c.char_start, c.char_end, c.text) for c in snapshot.document_chunks(info.doc_id)]
    return {"documents": docs, "chunks": chunks, "check": pipeline.check().problems}
