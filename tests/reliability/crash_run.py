"""Long crash-safety run: SIGKILL an ingesting process many times and verify the index after each kill.

    .venv/bin/python -m tests.reliability.crash_run --kills 200 [--seed 1] [--index /tmp/crash-index]
        [--engine local|milvus-lite|milvus] [--kill writer|server]

Each kill is aimed at a phase of a write (embedding, SQLite inserts, the SQLite commit, just after
it, bringing the vectors in memory up to date, saving a copy of them, pruning the removals the copy
holds) or at a random moment;
after it, the index must pass ``check()``, answer, and hold exactly the state after the last
completed operation or the one in flight. Exits 1 on the first failure. ``--engine milvus`` starts
Milvus's server (``.milvus-server/``) over a file in the index folder; ``--kill server`` kills that
server instead of the writer, mid-write, and starts it again on the same file. The CI version is
``tests/reliability/test_crash.py``.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from bench import MilvusServer
from tests.reliability.crash_harness import run_crash_test


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--index", type=Path, help="index directory (default: a temporary one, removed after)")
    parser.add_argument("--engine", choices=["local", "milvus-lite", "milvus"], default="local",
                        help="the index engine to kill writers of (default local; milvus: Milvus's server)")
    parser.add_argument("--kill", choices=["writer", "server"], default="writer",
                        help="what is killed: the writing process (default) or, with --engine milvus, the server")
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    args = parser.parse_args()
    if args.kill == "server" and args.engine != "milvus":
        parser.error("--kill server needs --engine milvus")
    root = args.index or Path(tempfile.mkdtemp(prefix="rag-crash-")) / "index"
    server = None
    if args.engine == "milvus":
        root.mkdir(parents=True, exist_ok=True)
        server = MilvusServer(root / "server.db")
        server.start()
        location = f"milvus://127.0.0.1:{server.port}/crash"
    else:
        location = f"milvus-lite:{root}.db" if args.engine == "milvus-lite" else root
    try:
        run = run_crash_test(location, kills=args.kills, seed=args.seed, log=None if args.quiet else print,
                             timeout=120 if server else 60, server=server if args.kill == "server" else None)
    finally:
        if server is not None:
            server.stop()
        if args.index is None:
            shutil.rmtree(root.parent, ignore_errors=True)
    last = run.kills[-1] if run.kills else None
    print(f"{len(run.kills)} kills in {run.seconds:.0f} s, {len(run.failures)} failures; "
          f"{run.final_ops} operations applied in the end"
          + (f", last verified index: {last.documents} documents, {last.chunks} chunks" if last else ""))
    print("landed in: " + ", ".join(f"{phase} {n}" for phase, n in run.landed().most_common()))
    if args.engine != "local":
        print(f"kills after which check found a write's orphans (and repair removed them): "
              f"{sum(1 for k in run.kills if k.repaired)}")
    for failure in run.failures:
        print(f"FAILED after a kill aimed at {failure.aimed} (landed {failure.landed}): {failure.problems}")
    return 1 if run.failures else 0


if __name__ == "__main__":
    sys.exit(main())
