"""Kill an ingesting process with SIGKILL at chosen moments and check what it leaves behind.

A *worker* process applies a deterministic sequence of operations to an index (ingest a batch of
documents and update one, or delete one; each is one atomic write) and prints a line as it enters
and leaves each phase of a write: embedding, the SQLite inserts and commit (the commit point),
bringing the vectors in memory up to date, saving a copy of them, pruning the removals the copy
holds. The worker saves vector copies far more often than the product does (after 40 changed
chunks instead of a quarter of the index) so that kills land in those phases too. The *driver*
starts a worker, waits for a chosen phase (or a random moment), sleeps a random fraction of that
phase's usual length and sends SIGKILL. Then it opens the index in its own process and checks
that it passes ``check()``, answers, and holds exactly the state after the last completed
operation or after the one in flight, never a mix; every document in it has all its chunks.

Used by ``tests/reliability/test_crash.py`` (20 kills) and ``python -m tests.reliability.crash_run`` (longer runs).
The worker is ``python -m tests.reliability.crash_harness INDEX START_OP``.
"""
from __future__ import annotations

import functools
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["KILL_POINTS", "MILVUS_KILL_POINTS", "KillResult", "CrashRun", "state_after", "run_crash_test", "verify_index"]

REPO = Path(__file__).resolve().parents[2]

# (event that arms the kill, phase whose usual length bounds the random delay)
KILL_POINTS: tuple[tuple[str, str], ...] = (
    ("B embed", "embed"),
    ("B embed", "embed"),
    ("B store-write", "store-write"),
    ("B sqlite-commit", "sqlite-commit"),
    ("E sqlite-commit", ""),          # committed; the vectors in memory and on disk not yet touched
    ("B catch-up", "catch-up"),
    ("B save-vectors", "save-vectors"),
    ("E save-vectors", ""),           # a copy of the vectors saved, not yet one of the lexical index
    ("B catch-up-lexical", "catch-up-lexical"),
    ("B save-lexical", "save-lexical"),
    ("E save-lexical", ""),           # both copies saved, the removals they hold not yet pruned
    ("B prune", "prune"),
    ("random", ""),
)
# On Milvus a write is: new versions written aside (store-write), then the switch and the cleanup
# of old versions (milvus-commit). A kill leaves at most orphans, which check reports and repair removes.
MILVUS_KILL_POINTS: tuple[tuple[str, str], ...] = (
    ("B embed", "embed"),
    ("B store-write", "store-write"),
    ("E store-write", ""),            # a document's new version written, not switched on
    ("B milvus-commit", "milvus-commit"),
    ("B milvus-commit", "milvus-commit"),
    ("random", ""),
)
# The worker saves a copy of the vectors after this many changed chunks (the product: 20,000 and a quarter).
WORKER_SAVE_AFTER = 40
_VOCABULARY = [f"{a}{b}" for a in ("ka", "lo", "mi", "nu", "pe", "ro", "su", "ta", "vi", "zo")
               for b in ("ber", "dan", "fel", "gor", "hil", "jun", "kas", "lim", "mor", "nex",
                         "pol", "qui", "ras", "sol", "tur", "vel", "wix", "yar", "zen", "bo")]


# ---- the operations (the same sequence in the worker and the driver) ----

def _text(rng: random.Random, token: str) -> str:
    sentences = []
    for _ in range(rng.randint(8, 40)):
        words = rng.choices(_VOCABULARY, k=rng.randint(6, 16))
        sentences.append(" ".join(words).capitalize() + ".")
    sentences.insert(rng.randrange(len(sentences)), f"The marker {token} appears here.")
    paragraphs, i = [], 0
    while i < len(sentences):
        n = rng.randint(2, 6)
        paragraphs.append(" ".join(sentences[i:i + n]))
        i += n
    return "\n\n".join(paragraphs) + "\n"


def operation(n: int, state: dict[str, str]) -> tuple[str, Any]:
    """Operation ``n``: ``("ingest", {doc_id: text})`` or ``("delete", doc_id)``."""
    rng = random.Random(f"op-{n}")
    if n % 4 == 3 and state:
        return "delete", sorted(state)[rng.randrange(len(state))]
    docs = {f"d{n:04d}-{i}": _text(rng, f"tok{n}x{i}") for i in range(rng.randint(3, 8))}
    if state:
        updated = sorted(state)[rng.randrange(len(state))]
        docs[updated] = _text(rng, f"upd{n}x{updated.replace('-', 'y')}")
    return "ingest", docs


def apply(state: dict[str, str], op: tuple[str, Any]) -> dict[str, str]:
    kind, arg = op
    new = dict(state)
    if kind == "delete":
        new.pop(arg, None)
    else:
        new.update(arg)
    return new


@functools.lru_cache(maxsize=None)
def state_after(n_ops: int) -> dict[str, str]:
    """The documents (id → text) after the first ``n_ops`` operations."""
    state: dict[str, str] = {}
    for n in range(n_ops):
        state = apply(state, operation(n, state))
    return state


# ---- the worker ----

def _emit(kind: str, phase: str) -> None:
    sys.stdout.write(f"{kind} {phase} {time.monotonic():.6f}\n")
    sys.stdout.flush()


def _instrument(owner: type, name: str, phase: str) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _emit("B", phase)
        try:
            return original(*args, **kwargs)
        finally:
            _emit("E", phase)

    setattr(owner, name, wrapper)


def is_milvus(index: str | Path) -> bool:
    return str(index).startswith(("milvus-lite:", "milvus://"))


def worker(index_dir: str, start: int, embed_delay: float) -> None:
    """Apply operations ``start, start+1, …`` to the index until killed."""
    import index.directory
    from index.directory import Writer
    from index.live import LiveVectors
    from index.live_lexical import LiveLexical
    from index.milvus_writer import MilvusWriter
    from index.store import Store
    from rag import Pipeline
    from rag.hash_embedder import HashEmbedder
    from rag.loaders import record_to_document

    class SlowEmbedder(HashEmbedder):
        """The fake embedder, paced like a (fast) real model so that embedding takes its share."""

        def encode_documents(self, texts: list[str], *, progress: bool = False):  # type: ignore[override]
            _emit("B", "embed")
            try:
                time.sleep(embed_delay * len(texts))
                return super().encode_documents(texts, progress=progress)
            finally:
                _emit("E", "embed")

    index.directory._SAVE_AFTER_CHANGES = WORKER_SAVE_AFTER
    index.directory._SAVE_AFTER_SHARE = 0.0
    for owner, name, phase in ((Writer, "put", "store-write"), (Store, "commit", "sqlite-commit"),
                               (LiveVectors, "_catch_up", "catch-up"), (LiveVectors, "save", "save-vectors"),
                               (LiveLexical, "_catch_up", "catch-up-lexical"), (LiveLexical, "save", "save-lexical"),
                               (Store, "prune_deleted", "prune"), (MilvusWriter, "put", "store-write"),
                               (MilvusWriter, "commit", "milvus-commit")):
        _instrument(owner, name, phase)

    pipeline = Pipeline.open(index_dir, embedder=SlowEmbedder())
    state = state_after(start)
    _emit("R", "ready")
    n = start
    while True:
        op = operation(n, state)
        if op[0] == "delete":
            pipeline.delete(op[1])
        else:
            pipeline.ingest_documents([record_to_document({"id": doc_id, "text": text}, default_id=doc_id,
                                                          source="crash-test") for doc_id, text in op[1].items()])
        state = apply(state, op)
        _emit("D", str(n))
        n += 1


# ---- the driver ----

@dataclass
class KillResult:
    """One kill: where it was aimed, where it landed, and what the index held afterwards."""

    aimed: str
    landed: str
    delay_ms: float
    ops_done: int
    index_ops: int
    documents: int
    chunks: int
    problems: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)  # Milvus: orphans check found and repair removed


@dataclass
class CrashRun:
    kills: list[KillResult]
    final_ops: int
    seconds: float

    @property
    def failures(self) -> list[KillResult]:
        return [k for k in self.kills if k.problems]

    def landed(self) -> Counter[str]:
        return Counter(k.landed for k in self.kills)


def verify_index(index_dir: Path | str, done: int, *, repaired: list[str] | None = None
                 ) -> tuple[int, int, int, list[str]]:
    """Check an index after a kill: ``(ops it holds, documents, chunks, problems)``.

    It must equal the state after ``done`` or ``done + 1`` operations exactly (nothing half visible),
    hold every chunk of every document, answer a question about one of its documents, and pass
    ``check()`` — on Milvus, after ``repair()`` when ``check()`` found only a write's orphans (each
    such repair is appended to ``repaired``).
    """
    from rag import Pipeline
    from rag.hash_embedder import HashEmbedder
    from rag.loaders import record_to_document

    problems: list[str] = []
    pipeline = Pipeline.open(index_dir, embedder=HashEmbedder())
    report = pipeline.check()
    if is_milvus(index_dir) and report.problems and all("current version" in p for p in report.problems):
        if repaired is not None:
            repaired.extend(report.problems)
        pipeline.directory.orphan_grace_s = 0  # the writer is dead: its young rows are orphans for sure
        report = pipeline.repair()
    problems += [f"check: {p}" for p in report.problems]
    infos = pipeline.documents()
    actual = {info.doc_id: pipeline.document(info.doc_id).text for info in infos}
    held = next((n for n in (done, done + 1) if state_after(n) == actual), None)
    if held is None:
        before, after = state_after(done), state_after(done + 1)
        problems.append(f"index holds neither the state after {done} operations nor after {done + 1}: "
                        f"{len(actual)} documents; lost {sorted(set(before) & set(after) - set(actual))[:5]}, "
                        f"unexpected {sorted(set(actual) - set(before) - set(after))[:5]}, changed "
                        f"{sorted(d for d in actual if actual[d] not in (before.get(d), after.get(d)))[:5]}")
    for info in infos:
        doc = record_to_document({"id": info.doc_id, "text": actual[info.doc_id]}, default_id=info.doc_id,
                                 source="crash-test")
        expected_chunks = len(pipeline.chunker.chunk(doc))
        if info.n_chunks != expected_chunks:
            problems.append(f"{info.doc_id} has {info.n_chunks} chunks, a full ingest gives {expected_chunks}")
    if actual:
        doc_id = random.Random(done).choice(sorted(actual))
        token = next(w.strip(".") for w in actual[doc_id].split() if w.startswith(("tok", "upd")))
        result = pipeline.ask(f"Where does the marker {token} appear?", k=5)
        if doc_id not in {p.citation.doc_id for p in result.passages}:
            lexical = pipeline.retrieve(f"Where does the marker {token} appear?", k=5, mode="bm25")
            problems.append(f"asking about {token} did not retrieve {doc_id}: got "
                            f"{[(p.citation.doc_id, p.citation.chunk_id, round(p.score, 3)) for p in result.passages]}, "
                            f"BM25 alone {[(p.citation.doc_id, p.citation.chunk_id) for p in lexical]}")
        for answer in result.answers:
            text = actual[answer.citation.doc_id]
            if text[answer.citation.char_start:answer.citation.char_end] != answer.text:
                problems.append(f"answer {answer.text!r} does not match its citation's offsets")
    pipeline.directory.close()
    return (held if held is not None else -1), len(actual), report.chunks, problems


def _worker_command(index_dir: Path, start: int, embed_delay: float) -> list[str]:
    return [sys.executable, "-m", "tests.reliability.crash_harness", str(index_dir), str(start), str(embed_delay)]


def _kill_once(index_dir: Path, start: int, aimed: tuple[str, str], rng: random.Random,
               durations: dict[str, list[float]], embed_delay: float, timeout: float,
               server: Any = None) -> tuple[str, float, int]:
    """Run a worker from operation ``start`` and SIGKILL it at the aimed moment — or, given the Milvus
    ``server`` it writes to, SIGKILL the server then (the writer, its client, is killed right after and
    the server started again on the same file).

    Returns (where it landed, the delay used in ms, operations completed).
    """
    event, phase = aimed
    occurrence = rng.randint(1, 2)
    usual = sorted(durations.get(phase, []))
    bound = usual[len(usual) // 2] if usual else 0.005
    delay = rng.uniform(0, bound) if phase else rng.uniform(0, 0.0005)
    if event == "random":
        delay = rng.uniform(0, 1.5)
    proc = subprocess.Popen(_worker_command(index_dir, start, embed_delay), cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: list[str] = []
    seen = 0
    deadline = time.monotonic() + timeout
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            kind_phase = " ".join(line.split()[:2])
            if (event == "random" and kind_phase == "R ready") or kind_phase == event:
                seen += 1
                if event == "random" or seen == occurrence:
                    time.sleep(delay)
                    break
            if time.monotonic() > deadline:
                break
    finally:
        if server is not None:
            server.kill()
        proc.send_signal(signal.SIGKILL)
        # Read the rest through the same text streams: iterating them read ahead, and communicate()
        # would read the pipes underneath, losing what they already hold (a "D n" line, say).
        assert proc.stdout is not None and proc.stderr is not None
        with proc.stdout, proc.stderr:
            rest, err = proc.stdout.read(), proc.stderr.read()
        proc.wait()
        if server is not None:
            server.start()
    lines += rest.splitlines(keepends=True)
    # With the server killed first, the writer may already have failed on its lost connection.
    if proc.returncode != -signal.SIGKILL and server is None:
        raise RuntimeError(f"the worker exited by itself ({proc.returncode}): {err[-2000:]}")
    open_phases: dict[str, float] = {}
    done = start
    last_closed = ""
    for line in lines:
        parts = line.split()
        if len(parts) != 3:
            continue
        kind, name, stamp = parts[0], parts[1], float(parts[2])
        if kind == "B":
            open_phases[name] = stamp
        elif kind == "E" and name in open_phases:
            durations.setdefault(name, []).append(stamp - open_phases.pop(name))
            last_closed = name
        elif kind == "D":
            done = int(name) + 1
            last_closed = ""
    if "ready" not in "".join(lines):
        landed = "startup"
    elif open_phases:
        landed = max(open_phases, key=open_phases.get)  # the innermost open phase (save wraps catch-up)
    elif last_closed:
        landed = f"after {last_closed}"  # between two phases of a write, e.g. committed, vectors not saved
    else:
        landed = "between operations"
    return landed, delay * 1000, done


def run_crash_test(index_dir: Path | str, *, kills: int = 20, seed: int = 0, embed_delay: float = 0.001,
                   timeout: float = 60.0, log: Any = None, server: Any = None,
                   points: tuple[tuple[str, str], ...] | None = None) -> CrashRun:
    """Kill ``kills`` workers in turn on one index, verifying it after each; then finish one operation cleanly.

    With ``server`` (a :class:`bench.MilvusServer` holding ``index_dir``), each
    kill is the server's instead, in the middle of the writer's work, and the server is restarted.
    ``points`` replaces the engine's kill points.
    """
    started = time.perf_counter()
    rng = random.Random(seed)
    durations: dict[str, list[float]] = {}
    results: list[KillResult] = []
    held = 0
    points = points or (MILVUS_KILL_POINTS if is_milvus(index_dir) else KILL_POINTS)
    for i in range(kills):
        aimed = points[i % len(points)] if i < len(points) else rng.choice(points)
        landed, delay_ms, done = _kill_once(index_dir, held, aimed, rng, durations, embed_delay, timeout, server)
        repaired: list[str] = []
        index_ops, n_docs, n_chunks, problems = verify_index(index_dir, done, repaired=repaired)
        results.append(KillResult(" ".join(aimed).strip(), landed, delay_ms, done, index_ops, n_docs, n_chunks,
                                  problems, repaired))
        if log:
            log(f"kill {i + 1:3d}: aimed {aimed[0]:<16} landed {landed:<18} after {delay_ms:7.2f} ms; "
                f"{done} ops done, index holds {index_ops}: {n_docs} documents, {n_chunks} chunks"
                + (f"; PROBLEMS {problems}" if problems else ""))
        if problems:
            break
        held = index_ops
    # One clean write afterwards must sweep every leftover of the killed writers.
    final = held
    if not any(k.problems for k in results):
        proc = subprocess.run(
            [sys.executable, "-c",
             "import sys; from tests.reliability.crash_harness import finish_one; finish_one(sys.argv[1], int(sys.argv[2]))",
             str(index_dir), str(held)],
            cwd=REPO, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"the final clean write failed: {proc.stderr[-2000:]}")
        final, _, _, problems = verify_index(index_dir, held + 1)
        expected = {"manifest.json", ".lock", "store.sqlite", "store.sqlite-wal", "store.sqlite-shm"}
        leftovers = [] if is_milvus(index_dir) else sorted(
            p.name for p in Path(index_dir).iterdir() if p.name not in expected)
        copies = [n for n in leftovers if n.startswith(("vectors-", "lexical-")) and not n.endswith(".tmp")]
        if final != held + 1 or leftovers != copies or len(copies) > 2 or len({n.split("-")[0] for n in copies}) < len(copies):
            problems.append(f"after a clean write: index holds {final} ops, directory has {leftovers}")
        if problems:
            results.append(KillResult("clean write", "", 0, held + 1, final, 0, 0, problems))
    return CrashRun(results, final, time.perf_counter() - started)


def finish_one(index_dir: str, start: int) -> None:
    """Apply operation ``start`` without interruption (the clean write after the kills)."""
    from rag import Pipeline
    from rag.hash_embedder import HashEmbedder
    from rag.loaders import record_to_document

    import index.directory

    index.directory._SAVE_AFTER_CHANGES = WORKER_SAVE_AFTER  # so that it also saves a copy and sweeps
    index.directory._SAVE_AFTER_SHARE = 0.0
    pipeline = Pipeline.open(index_dir, embedder=HashEmbedder())
    state = state_after(start)
    kind, arg = operation(start, state)
    if kind == "delete":
        pipeline.delete(arg)
    else:
        pipeline.ingest_documents([record_to_document({"id": d, "text": t}, default_id=d, source="crash-test")
                                   for d, t in arg.items()])


if __name__ == "__main__":
    worker(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
