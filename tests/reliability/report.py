"""Figures for the README: with ``RAG_RELIABILITY_REPORT=DIR`` set, tests write ``DIR/NAME.json``."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["record"]


def record(name: str, figures: dict[str, Any]) -> None:
    folder = os.environ.get("RAG_RELIABILITY_REPORT")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / f"{name}.json").write_text(json.dumps(figures, indent=1, default=str), encoding="utf-8")
