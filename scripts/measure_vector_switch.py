"""Where exact vector search stops being cheap: flat against IVF-SQ8 (as ``auto`` builds it) by size.

    .venv/bin/python scripts/measure_vector_switch.py [--sizes 25000 50000 100000 150000 200000 400000]

For each size: flat search p50 (one thread, as the server searches), and the IVF-SQ8 index
``index.vector_switch.build_approximate`` would switch to: its build time, nprobe, recall@10 at the
check, and p50. Vectors: the clustered synthetic 384-d set of ``bench.scale`` (uniform random vectors
have no neighbourhoods for any approximate index to find); 200 fresh queries from the same mixture.
This is what ``index.vector_switch.SWITCH_AT`` was chosen from.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from bench import synthetic_vectors
from index import FaissIndex, build_approximate


def _p50(index, queries: np.ndarray) -> float:
    times = []
    for q in queries:
        started = time.perf_counter()
        index.search(q, 50)
        times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[25_000, 50_000, 100_000, 150_000, 200_000, 400_000])
    args = parser.parse_args()
    everything = synthetic_vectors(max(args.sizes) + 200, 384)
    queries = everything[-200:]
    print("| vectors | flat p50 ms | ivf-sq8 p50 ms | nprobe | recall@10 at the check | build s |")
    print("|---|---|---|---|---|---|")
    for n in args.sizes:
        ids, vectors = np.arange(n, dtype=np.int64), everything[:n]
        flat = FaissIndex(384)
        flat.add(ids, vectors)
        flat_ms = _p50(flat, queries)
        del flat
        built = build_approximate(ids, vectors)
        if built is None:
            print(f"| {n:,} | {flat_ms:.1f} | – | – | below the goal | – |", flush=True)
            continue
        print(f"| {n:,} | {flat_ms:.1f} | {_p50(built.index, queries):.2f} | {built.nprobe} | "
              f"{built.recall_at_10:.4f} | {built.seconds:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
