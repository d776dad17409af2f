"""What a run leaves behind: the JSON report, per-question files, the history, a Markdown summary.

::

    report.json          the metrics (exactly REPORT_KEYS), what the gate compares
    report.scores.json   every question's score per metric, by question id (no question text),
                         so a later run can test its differences for significance
    questions.jsonl      one line per question for error analysis: question, gold, top answer,
                         rank of the gold document, pass/fail
    history.jsonl        one line appended per run: time, git commit, config, metrics
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from eval.errors import BaselineError
from eval.runner import EvalRun, per_question_scores

__all__ = ["REPORT_KEYS", "SECTIONS", "build_report", "write_json", "read_report", "scores_path", "write_scores",
           "read_scores", "write_questions", "history_entry", "append_history", "read_history",
           "markdown_summary", "format_value"]

REPORT_KEYS: tuple[str, ...] = ("dataset", "n_questions", "n_answerable", "n_unanswerable", "config", "retrieval",
                                "answer", "no_answer", "latency_ms", "squad2", "index_build_s")
SECTIONS: tuple[str, ...] = ("retrieval", "answer", "no_answer", "latency_ms")
SCORES_FORMAT = "rag-eval-scores/1"


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def build_report(run: EvalRun, *, config: dict[str, Any], index_build_s: float) -> dict[str, Any]:
    """The JSON report of a run; ``None`` marks a metric that does not apply (e.g. no unanswerable questions)."""
    results = run.results
    n_answerable = sum(r.answerable for r in results)
    report: dict[str, Any] = {
        "dataset": run.dataset.name,
        "n_questions": len(results),
        "n_answerable": n_answerable,
        "n_unanswerable": len(results) - n_answerable,
        "config": config,
    }
    for section in SECTIONS:
        digits = 2 if section == "latency_ms" else 4
        report[section] = {name: _round(value, digits) for name, value in run.metrics[section].items()}
    # The official SQuAD 2.0 script's keys and 0-100 scale, so figures compare with published readers.
    report["squad2"] = {name: value if isinstance(value, int) else _round(value, 2)
                        for name, value in run.metrics["squad2"].items()}
    report["index_build_s"] = round(index_build_s, 3)
    return report


def write_json(path: str | os.PathLike[str], value: Any, *, indent: int | None = 2) -> Path:
    """Write JSON atomically (a temporary file, then a rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(value, ensure_ascii=False, indent=indent) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_report(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a JSON report (a ``--baseline``); raises :class:`BaselineError` if it is not one."""
    path = Path(path)
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{path}: not valid JSON: {exc.msg}") from exc
    if not isinstance(report, dict) or not all(isinstance(report.get(s), dict) for s in SECTIONS):
        raise BaselineError(f"{path}: not an eval report (needs the sections {', '.join(SECTIONS)})")
    return report


def scores_path(report_path: str | os.PathLike[str]) -> Path:
    """Where a report's per-question scores live: ``x.json`` → ``x.scores.json``."""
    path = Path(report_path)
    stem = path.name[:-5] if path.name.endswith(".json") else path.name
    return path.with_name(f"{stem}.scores.json")


def write_scores(path: str | os.PathLike[str], run: EvalRun) -> Path:
    scores = per_question_scores(run.results, k=run.k)
    body = {"format": SCORES_FORMAT, "dataset": run.dataset.name, "dataset_sha256": run.dataset.sha256,
            "ids": [r.qid for r in run.results],
            "metrics": {name: [_round(v) for v in values] for name, values in scores.items()}}
    return write_json(path, body, indent=None)


def read_scores(path: str | os.PathLike[str]) -> dict[str, dict[str, float]] | None:
    """``{metric: {question id: score}}`` from a scores file, or ``None`` if there is none."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        ids = body["ids"]
        return {name: {qid: v for qid, v in zip(ids, values, strict=True) if v is not None}
                for name, values in body["metrics"].items()}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BaselineError(f"{path}: not a per-question scores file: {exc}") from exc


def write_questions(path: str | os.PathLike[str], run: EvalRun) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for result in run.results:
            f.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
    return path


def history_entry(report: dict[str, Any], *, seconds: float, commit: str | None, dirty: bool | None,
                  when: float | None = None) -> dict[str, Any]:
    """One history line: when, at which commit, with what configuration, and the metrics."""
    when = time.time() if when is None else when
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when)),
        "git_commit": commit,
        "git_dirty": dirty,
        "dataset": report["dataset"],
        "n_questions": report["n_questions"],
        "config": report["config"],
        "metrics": {section: report[section] for section in (*SECTIONS, "squad2") if section in report},
        "index_build_s": report["index_build_s"],
        "seconds": round(seconds, 2),
    }


def append_history(path: str | os.PathLike[str], entry: dict[str, Any]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return path


def read_history(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every readable line of a history file, oldest first (a damaged line is skipped)."""
    path = Path(path)
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("metrics"), dict):
            entries.append(entry)
    return entries


def format_value(value: float | None, *, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _table(title: str, row_name: str, values: dict[str, float | None], *, digits: int = 3) -> list[str]:
    names = list(values)
    return [f"| {title} | " + " | ".join(names) + " |",
            "|---|" + "---:|" * len(names),
            f"| {row_name} | " + " | ".join(format_value(values[n], digits=digits) for n in names) + " |"]


def markdown_summary(report: dict[str, Any], *, seconds: float | None = None, notes: Iterable[str] = ()) -> str:
    """The run as Markdown tables: retrieval, answers, abstention, then timings."""
    config = report["config"]
    mode = "gold passage" if config.get("gold_passage") else config.get("retrieval", "?")
    lines = [f"## rag eval · {report['dataset']} · {mode}",
             "",
             f"{report['n_questions']} questions ({report['n_answerable']} answerable, "
             f"{report['n_unanswerable']} unanswerable); retrieval scored on answerable questions by the "
             "ranked list of distinct documents.",
             ""]
    lines += _table("retrieval", mode, report["retrieval"])
    lines.append("")
    lines += _table("answer", mode, report["answer"])
    lines.append("")
    lines += _table("no_answer", mode, report["no_answer"])
    lines.append("")
    if "squad2" in report:
        lines += _table("squad2 (official script's figures, 0-100)", mode, report["squad2"], digits=2)
        lines.append("")
    latency = report["latency_ms"]
    index = config.get("index", {})
    timing = (f"latency p50 {format_value(latency['p50'], digits=1)} ms, p95 {format_value(latency['p95'], digits=1)} ms"
              f" · index {report['index_build_s']:.1f} s ({'cached' if index.get('cached') else 'built'}"
              f", {index.get('documents', '?')} documents, {index.get('chunks', '?')} chunks)")
    if seconds is not None:
        timing += f" · run {seconds:.1f} s"
    machine = config.get("machine") or {}
    if machine.get("loadavg_1m"):
        timing += f" · {machine.get('cpus', '?')} CPUs, load average {' → '.join(map(str, machine['loadavg_1m']))}"
    lines.append(timing)
    lines.extend(notes)
    return "\n".join(lines) + "\n"
