"""What a write costs the index itself: add and delete one document at two sizes, bulk ingest.

The hash embedder (384-d, like the bundled model) stands in for the model, so the figures are the
index's own work: chunking, the store, the lexical index and the vectors. Uses only
``Pipeline.open``, ``ingest_documents`` and ``delete``, so the same code measures older versions
(``PYTHONPATH=<checkout of another commit> python -m bench.writes``).
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["writes_run", "main"]

_WORDS = [f"{a}{b}" for a in ("ka", "lo", "mi", "nu", "pe", "ro", "su", "ta", "vi", "zo", "ba", "de")
          for b in ("ber", "dan", "fel", "gor", "hil", "jun", "kas", "lim", "mor", "nex", "pol", "qui", "ras",
                    "sol", "tur", "vel", "wix", "yar", "zen", "bo")]


def _text(rng: random.Random, sentences: int) -> str:
    return " ".join(" ".join(rng.choices(_WORDS, k=rng.randint(8, 16))).capitalize() + "."
                    for _ in range(sentences))


def _records(start: int, n: int, seed: int) -> list[dict[str, str]]:
    """``n`` documents of one chunk each (about 60 words: under the 200-token chunk)."""
    rng = random.Random(seed)
    return [{"id": f"doc-{start + i}", "text": _text(rng, 5)} for i in range(n)]


def _documents(records: list[dict[str, str]]) -> list[Any]:
    from rag import record_to_document

    return [record_to_document(r, default_id=r["id"], source="bench") for r in records]


def _dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


class _DiskWatch:
    """The directory's largest size while a block runs (sampled every 5 ms)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.peak_mb = 0.0
        self._stop = threading.Event()

    def __enter__(self) -> _DiskWatch:
        self.peak_mb = _dir_mb(self.path)
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(0.005):
            try:
                self.peak_mb = max(self.peak_mb, _dir_mb(self.path))
            except OSError:
                pass

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, _dir_mb(self.path))


def writes_run(work: Path, *, sizes: tuple[int, ...] = (2_500, 250_000), repeats: int = 10,
               batch: int = 2_000, log: Any = None) -> dict[str, Any]:
    """Build an index up to each size in ``sizes`` (in batches of ``batch`` documents), and at each
    size time adding and deleting one document ``repeats`` times."""
    from rag import HashEmbedder, Pipeline

    shutil.rmtree(work, ignore_errors=True)
    pipeline = Pipeline.open(work, embedder=HashEmbedder(dimension=384))
    results: dict[str, Any] = {"sizes": [], "bulk": []}
    built = 0
    for size in sizes:
        started = time.perf_counter()
        chunks_before = pipeline.stats()["chunks"]
        while built < size:
            n = min(batch, size - built)
            pipeline.ingest_documents(_documents(_records(built, n, seed=built)))
            built += n
        seconds = time.perf_counter() - started
        added = pipeline.stats()["chunks"] - chunks_before
        results["bulk"].append({"from_chunks": chunks_before, "to_chunks": pipeline.stats()["chunks"],
                                "seconds": seconds, "chunks_per_s": added / seconds if seconds else None})
        t0 = time.perf_counter()
        Pipeline.open(work, embedder=HashEmbedder(dimension=384)).directory.snapshot()  # as a new process would
        reader_s = time.perf_counter() - t0
        # Past 100k chunks the vectors may be moving to an approximate index in the background
        # (index.vector_switch): let that finish, so the timings below are the writes' own.
        snapshot = pipeline.directory.snapshot()
        vectors = snapshot.vector_index(wait_s=1800) if hasattr(snapshot, "vector_index") else None  # older versions
        adds, catch_ups, deletes, disk_extra, lexical = [], [], [], [], []
        extra = _records(10_000_000 + size, repeats, seed=size)
        for record in extra:
            before = _dir_mb(work)
            with _DiskWatch(work) as disk:
                t0 = time.perf_counter()
                pipeline.ingest_documents(_documents([record]))
                adds.append(time.perf_counter() - t0)
            disk_extra.append(disk.peak_mb - before)
            t0 = time.perf_counter()
            snapshot = pipeline.directory.snapshot()  # what the next question pays to see the write
            catch_ups.append(time.perf_counter() - t0)
            words = record["text"].split()
            t0 = time.perf_counter()
            snapshot.lexical_search(" ".join(words[:6]), 50)
            lexical.append(time.perf_counter() - t0)
        for record in extra:
            t0 = time.perf_counter()
            pipeline.delete(record["id"])
            deletes.append(time.perf_counter() - t0)

        def summary(values: list[float]) -> dict[str, float]:
            return {"median": _median(values), "max": max(values)}

        row = {"chunks": pipeline.stats()["chunks"], "index_mb": _dir_mb(work), "first_question_open_s": reader_s,
               "vectors": vectors,
               "add_one_s": summary(adds), "next_question_catch_up_s": summary(catch_ups),
               "delete_one_s": summary(deletes), "lexical_search_s": summary(lexical),
               "disk_extra_mb_during_add": summary(disk_extra)}
        results["sizes"].append(row)
        if log:
            log(json.dumps(row))
    small, large = results["sizes"][0], results["sizes"][-1]
    results["add_ratio_large_vs_small"] = large["add_one_s"]["median"] / small["add_one_s"]["median"]
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.writes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("bench-out/writes"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_500, 250_000])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    results = writes_run(args.work, sizes=tuple(args.sizes), repeats=args.repeats,
                         log=lambda line: print(line, file=sys.stderr))
    text = json.dumps(results, indent=2)
    if args.json:
        args.json.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
