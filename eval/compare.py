"""``--baseline``: deltas against an earlier report, their significance, and the regression gate."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eval.errors import BaselineError
from eval.report import SECTIONS, format_value
from eval.runner import PRIMARY_METRICS
from eval.stats import paired_bootstrap_ci, paired_randomization_test

__all__ = ["MetricDelta", "Comparison", "compare_reports", "markdown_comparison", "SIGNIFICANCE"]

SIGNIFICANCE = 0.05
_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class MetricDelta:
    """One metric, then and now.

    Attributes:
        ci: a 95% bootstrap interval of the per-question mean difference (paired questions only).
        p_value: the paired randomization test's two-sided p-value.
        n_paired: how many questions both runs scored on this metric.
        regressed: a primary metric that dropped more than the allowed ``max_drop``.
    """

    name: str
    baseline: float | None
    current: float | None
    delta: float | None
    ci: tuple[float, float] | None = None
    p_value: float | None = None
    n_paired: int = 0
    primary: bool = False
    regressed: bool = False


@dataclass(slots=True)
class Comparison:
    rows: list[MetricDelta]
    max_drop: float
    warnings: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[MetricDelta]:
        return [row for row in self.rows if row.regressed]

    @property
    def ok(self) -> bool:
        return not self.regressions


def _check_comparable(current: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    warnings = []
    now, then = current.get("config", {}), baseline.get("config", {})
    if current.get("dataset") != baseline.get("dataset"):
        warnings.append(f"the baseline is on {baseline.get('dataset')!r}, this run on {current.get('dataset')!r}")
    elif now.get("dataset_sha256") and then.get("dataset_sha256") and now["dataset_sha256"] != then["dataset_sha256"]:
        warnings.append(f"{current.get('dataset')!r} has changed since the baseline (another sha256)")
    if current.get("n_questions") != baseline.get("n_questions"):
        warnings.append(f"the baseline asked {baseline.get('n_questions')} questions, this run "
                        f"{current.get('n_questions')}: deltas compare different question sets")
    for key in ("retrieval", "model"):
        if now.get(key) != then.get(key):
            warnings.append(f"{key}: baseline {then.get(key)!r}, now {now.get(key)!r}")
    return warnings


def compare_reports(current: dict[str, Any], baseline: dict[str, Any], *,
                    current_scores: dict[str, dict[str, float]] | None = None,
                    baseline_scores: dict[str, dict[str, float]] | None = None, max_drop: float = 0.01,
                    primary: Sequence[str] = PRIMARY_METRICS, rounds: int = 10_000) -> Comparison:
    """Every metric of both reports with its delta; paired tests where both have per-question scores.

    Raises:
        BaselineError: a primary metric is missing from either report.
    """
    if max_drop < 0:
        raise ValueError("max_drop must not be negative")
    comparison = Comparison([], max_drop, _check_comparable(current, baseline))
    if current_scores is None or baseline_scores is None:
        comparison.warnings.append("no per-question scores for both runs: deltas without significance tests")
    for name in primary:
        section, metric = name.split(".", 1)
        if current.get(section, {}).get(metric) is None or baseline.get(section, {}).get(metric) is None:
            raise BaselineError(f"the primary metric {name} is missing from the "
                                f"{'baseline' if current.get(section, {}).get(metric) is not None else 'current'} report")
    for section in SECTIONS:
        names = list(dict.fromkeys([*current.get(section, {}), *baseline.get(section, {})]))
        for metric in names:
            name = f"{section}.{metric}"
            now, then = current.get(section, {}).get(metric), baseline.get(section, {}).get(metric)
            delta = None if now is None or then is None else now - then
            ci, p_value, n_paired = None, None, 0
            if current_scores and baseline_scores and name in current_scores and name in baseline_scores:
                ours, theirs = current_scores[name], baseline_scores[name]
                common = [qid for qid in ours if qid in theirs]
                n_paired = len(common)
                if common:
                    a, b = [ours[q] for q in common], [theirs[q] for q in common]
                    p_value = paired_randomization_test(a, b, rounds=rounds)
                    ci = paired_bootstrap_ci(a, b)
            is_primary = name in primary
            regressed = is_primary and delta is not None and -delta > max_drop + _EPSILON
            comparison.rows.append(MetricDelta(name, then, now, delta, ci, p_value, n_paired, is_primary, regressed))
    return comparison


def markdown_comparison(comparison: Comparison, *, baseline_name: str) -> str:
    """The deltas as a Markdown table; primary metrics in bold, regressions flagged."""
    lines = [f"### against {baseline_name}", "",
             "| metric | baseline | now | Δ | 95% CI of Δ | p (paired) | |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for row in comparison.rows:
        digits = 1 if row.name.startswith("latency_ms.") else 3
        name = f"**{row.name}**" if row.primary else row.name
        delta = "–" if row.delta is None else f"{row.delta:+.{digits}f}"
        ci = "–" if row.ci is None else f"[{row.ci[0]:+.3f}, {row.ci[1]:+.3f}]"
        p = "–" if row.p_value is None else "<0.001" if row.p_value < 0.001 else f"{row.p_value:.3f}"
        flag = ""
        if row.regressed:
            flag = f"REGRESSION (> {comparison.max_drop:g} drop)"
        elif row.p_value is not None and row.p_value < SIGNIFICANCE and row.delta:
            flag = "significant"
        lines.append(f"| {name} | {format_value(row.baseline, digits=digits)} | "
                     f"{format_value(row.current, digits=digits)} | {delta} | {ci} | {p} | {flag} |")
    lines.extend(f"\nwarning: {w}" for w in comparison.warnings)
    verdict = ("gate: pass" if comparison.ok else
               "gate: FAIL — " + ", ".join(f"{r.name} {r.delta:+.4f}" for r in comparison.regressions))
    lines += ["", f"{verdict} (primary metrics may drop at most {comparison.max_drop:g})"]
    return "\n".join(lines) + "\n"
