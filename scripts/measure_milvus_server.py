"""The local engine against Milvus's C++ server on one corpus: ingest throughput, then `ask` in-process
and `/ask` over HTTP on both indexes back to back (`rag bench --existing-index A --existing-index B`).

    .venv/bin/python scripts/measure_milvus_server.py [--corpus bench-out/corpus] [--out bench-out/milvus-server]

The corpus is the benchmark's (`rag bench --write-corpus DIR`: ≥ 10,000 chunks), written first if
missing. The server is `bench.MilvusServer` (the binary `scripts/install.sh` unpacks into
`.milvus-server/`), over a file in OUT, stopped at the end. Writes OUT/ingest.json and OUT/bench/.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench import MilvusServer

REPO = Path(__file__).resolve().parents[1]
RAG = [sys.executable, "-m", "ragcli"]


def ingest(location: str, corpus: Path) -> dict:
    started = time.perf_counter()
    done = subprocess.run([*RAG, "--index", location, "ingest", "--json", str(corpus)], cwd=REPO, check=True,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    report = json.loads(done.stdout)
    return {"location": location, "seconds": round(seconds, 1), "documents": len(report["added"]),
            "chunks": report["chunks_added"], "chunks_per_s": round(report["chunks_added"] / seconds, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=REPO / "bench-out" / "corpus")
    parser.add_argument("--out", type=Path, default=REPO / "bench-out" / "milvus-server")
    parser.add_argument("--questions", type=int, default=300)
    args = parser.parse_args()
    if not args.corpus.is_dir():
        subprocess.run([*RAG, "bench", "--write-corpus", str(args.corpus)], cwd=REPO, check=True)
    shutil.rmtree(args.out, ignore_errors=True)
    (args.out / "server").mkdir(parents=True)
    server = MilvusServer(args.out / "server" / "server.db")
    server.start()
    try:
        remote = f"milvus://127.0.0.1:{server.port}/bench"
        runs = [ingest(str(args.out / "local"), args.corpus), ingest(remote, args.corpus)]
        (args.out / "ingest.json").write_text(json.dumps(runs, indent=1), encoding="utf-8")
        for run in runs:
            print(f"ingest into {run['location']}: {run['documents']} documents, {run['chunks']:,} chunks in "
                  f"{run['seconds']} s ({run['chunks_per_s']} chunks/s)", flush=True)
        subprocess.run([*RAG, "bench", "--existing-index", str(args.out / "local"), "--existing-index", remote,
                        "--questions", str(args.questions), "--out", str(args.out / "bench")], cwd=REPO, check=True)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
