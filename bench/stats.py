"""Small measuring helpers: percentiles, peak memory, machine details."""
from __future__ import annotations

import os
import platform
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from eval import percentile

__all__ = ["percentiles", "peak_rss_mb", "rss_mb", "machine", "dir_size_mb", "Timer"]


def percentiles(values_ms: list[float]) -> dict[str, float]:
    """p50/p95/p99/mean of a list of milliseconds."""
    if not values_ms:
        return {"n": 0}
    return {"n": len(values_ms), **{f"p{q}_ms": percentile(values_ms, q) for q in (50, 95, 99)},
            "mean_ms": float(np.mean(values_ms))}


def _status_kb(pid: int | str, field: str) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return float(line.split()[1])
    except OSError:
        return None
    return None


def peak_rss_mb(pid: int | str = "self") -> float | None:
    """The process's high-water resident set (Linux ``VmHWM``), in MiB."""
    kb = _status_kb(pid, "VmHWM")
    return kb / 1024 if kb is not None else None


def rss_mb(pid: int | str = "self") -> float | None:
    kb = _status_kb(pid, "VmRSS")
    return kb / 1024 if kb is not None else None


def dir_size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    mem_kb = None
    try:
        mem_kb = next(float(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal:"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu": _cpu_model(), "cores": os.cpu_count(), "memory_gb": round(mem_kb / 2**20, 1) if mem_kb else None,
        "load_average_at_start": [round(x, 2) for x in load] if load else None,
        "python": platform.python_version(), "platform": platform.platform(),
        "packages": {n: _version(n) for n in ("rag-extract", "torch", "sentence-transformers", "onnxruntime",
                                              "faiss-cpu", "numpy", "fastapi", "uvicorn")},
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self) -> Timer:
        self._start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start
