"""The manual: it builds with ``mkdocs build --strict`` (a broken link or anchor, or a page missing
from the navigation, fails), works offline, and its configuration reference names every ``rag``
command and option and every ``RAG_*`` variable the code reads. The README stays a front page."""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ragcli.main import build_parser

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "docs" / "configuration.md"
# Where the code that reads settings lives (not .venv, caches or build output).
SOURCES = ["domain", "index", "rag", "api", "eval", "bench", "ragcli", "scripts", "tests", "deploy", ".ci"]
_VARIABLE = re.compile(r"(?<![A-Za-z0-9_])RAG_[A-Z0-9_]*[A-Z0-9]")


def _options(parser: argparse.ArgumentParser, command: str):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{command} {name}", None
                yield from _options(sub, f"{command} {name}")
        elif action.option_strings and action.option_strings != ["-h", "--help"]:
            yield command, action.option_strings[-1]


def test_every_command_and_option_is_in_the_configuration_reference():
    rows = [line for line in REFERENCE.read_text(encoding="utf-8").splitlines() if line.startswith("| `rag")]
    missing = []
    for command, option in _options(build_parser(), "rag"):
        wanted = f"| `{command}` |" if option is None else f"| `{command}` | `"
        if not any(row.startswith(wanted) and (option is None or re.search(rf"[`, ]{re.escape(option)}[` ,]", row))
                   for row in rows):
            missing.append(f"{command} {option or ''}".strip())
    assert not missing, f"not in docs/configuration.md: {missing}"


def test_every_rag_variable_the_code_reads_is_in_the_configuration_reference():
    found: dict[str, str] = {}
    for folder in SOURCES:
        for path in (REPO / folder).rglob("*"):
            if path.is_file() and path.suffix in {".py", ".sh", ".yaml", ".yml", ".conf", ""} and "data" not in path.parts:
                for name in _VARIABLE.findall(path.read_text(encoding="utf-8", errors="replace")):
                    found.setdefault(name, str(path.relative_to(REPO)))
    assert "RAG_API_KEY" in found and "RAG_MILVUS_TOKEN" in found  # the scan itself works
    reference = REFERENCE.read_text(encoding="utf-8")
    missing = {name: where for name, where in found.items() if f"`{name}`" not in reference}
    assert not missing, f"RAG_* variables missing from docs/configuration.md (and where they are read): {missing}"


def test_the_manual_builds_strictly_and_loads_nothing_from_other_sites(tmp_path: Path):
    mkdocs = Path(sys.executable).with_name("mkdocs")
    if not mkdocs.exists():
        pytest.fail("mkdocs is not installed: run scripts/install.sh (it is in the test extra)")
    site = tmp_path / "site"
    result = subprocess.run([str(mkdocs), "build", "--strict", "--site-dir", str(site)], cwd=REPO, text=True,
                            capture_output=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    pages = list(site.rglob("*.html"))
    assert all((site / page / "index.html").is_file() for page in ["", "configuration", "getting-started", "benchmarks"])
    external = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*(?:src|href)=["'](?:https?:)?//""", re.I)
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not external.search(text), f"{page} loads something from another site"
        assert "fonts.googleapis" not in text and "fonts.gstatic" not in text, page
    assert not (site / "guide").exists()  # the demo's corpus is not a page of the manual


def test_the_readme_is_a_front_page_whose_links_resolve():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme):
        if "://" not in target:
            assert (REPO / target).exists(), f"the README links to {target}, which does not exist"
