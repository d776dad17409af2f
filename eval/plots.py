"""The run's picture: the recall@k curve, and the history of the primary metrics.

Uses matplotlib's object API on the Agg canvas, so no display and no global pyplot state.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.runner import PRIMARY_METRICS

__all__ = ["plot_run"]


def _metric(entry: dict[str, Any], name: str) -> float | None:
    section, metric = name.split(".", 1)
    return entry.get("metrics", {}).get(section, {}).get(metric)


def plot_run(path: str | os.PathLike[str], *, curve: Sequence[float], label: str,
             history: Sequence[dict[str, Any]] = (), baseline: dict[str, Any] | None = None,
             primary: Sequence[str] = PRIMARY_METRICS) -> Path:
    """Write a PNG: recall@1…n on the left (with the baseline's recall@k points), history on the right.

    Args:
        curve: recall@1, recall@2, … of this run.
        history: history entries to plot, oldest first (the caller picks comparable ones).
        baseline: a baseline report, whose ``recall@k`` values are drawn as points.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(11, 4.2), layout="constrained")
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2)

    ks = list(range(1, len(curve) + 1))
    left.plot(ks, curve, marker="o", markersize=3, label=label)
    if baseline is not None:
        points = sorted((int(name.split("@")[1]), value) for name, value in baseline.get("retrieval", {}).items()
                        if name.startswith("recall@") and value is not None)
        if points:
            left.plot(*zip(*points, strict=True), linestyle="none", marker="x", markersize=8, color="black",
                      label=f"baseline ({baseline.get('config', {}).get('retrieval', '?')})")
    left.set(title="recall@k (distinct documents)", xlabel="k", ylabel="recall", ylim=(0, 1.02))
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.grid(alpha=0.3)
    left.legend(loc="lower right")

    runs = list(range(1, len(history) + 1))
    for name in primary:
        values = [_metric(entry, name) for entry in history]
        if any(v is not None for v in values):
            right.plot(runs, [float("nan") if v is None else v for v in values], marker="o", markersize=3, label=name)
    right.set(title="primary metrics, run by run", xlabel="run", ylabel="score", ylim=(0, 1.02))
    if history:
        step = max(1, len(history) // 8)
        right.set_xticks(runs[::step], [str(e.get("git_commit") or "")[:7] or str(n)
                                         for n, e in zip(runs[::step], history[::step], strict=True)],
                         rotation=30, fontsize=7)
    right.grid(alpha=0.3)
    if right.lines:
        right.legend(loc="lower left", fontsize=8)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path
