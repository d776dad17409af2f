"""The dependency direction of ../shared/docs/DESIGN.md, checked on every module's imports.

Each package may import only what the table below allows; where it may use another package only
through its public names, only ``import pkg`` / ``from pkg import name`` count, never a submodule.
Imports inside ``if TYPE_CHECKING:`` count too: a type hint is a dependency a reader must follow.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("domain", "index", "rag", "api", "eval", "bench", "ragcli", "scripts", "tests")

# package -> {package it may import: "any" (any module) or "public" (the package's top-level names only)}
ALLOWED: dict[str, dict[str, str]] = {
    "domain": {},
    "index": {"domain": "any"},
    "rag": {"domain": "any", "index": "public"},
    "api": {"domain": "any", "rag": "public"},
    "eval": {"domain": "any", "rag": "public"},
    # The drivers: the CLI and the benchmark measure and run everything, and nothing imports them
    # but the CLI (`rag bench`).
    "bench": {"domain": "any", "rag": "public", "index": "public", "api": "public", "eval": "public"},
    "ragcli": {"domain": "any", "rag": "public", "index": "public", "api": "public", "eval": "public",
               "bench": "public"},
    # The measuring scripts are thin drivers too (the fits are `rag fit`, in eval.fitting); they never
    # import tests/ (the reliability runs are `python -m tests.reliability.crash_run` / `load_run`).
    "scripts": {"domain": "any", "rag": "public", "index": "public", "api": "public", "eval": "public",
                "bench": "public"},
    "tests": {package: "any" for package in PACKAGES if package != "scripts"},
}


def _modules(root: Path = ROOT) -> list[Path]:
    return sorted(p for package in PACKAGES for p in (root / package).rglob("*.py")
                  if "__pycache__" not in p.parts)


def _imports(path: Path) -> list[tuple[int, str, tuple[str, ...]]]:
    """(line, module, names) for each absolute import; ``names`` empty for ``import x``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module, tuple(alias.name for alias in node.names)))
    return found


def _violations(root: Path = ROOT) -> list[str]:
    problems = []
    for path in _modules(root):
        owner = path.relative_to(root).parts[0]
        for line, module, _names in _imports(path):
            target = module.split(".")[0]
            if target not in PACKAGES or target == owner:
                continue
            rule = ALLOWED[owner].get(target)
            where = f"{path.relative_to(root)}:{line} imports {module}"
            if rule is None:
                problems.append(f"{where}: {owner}/ may not import {target}/")
            elif rule == "public" and module != target:
                problems.append(f"{where}: {owner}/ may use {target}/ only through its top-level names")
    return problems


def test_every_import_follows_the_dependency_direction():
    problems = _violations()
    assert not problems, "\n".join(problems)


def test_public_names_exist_where_they_are_imported_from():
    """``from pkg import name`` across packages names something ``pkg.__all__`` exports."""
    import importlib

    missing = []
    for path in _modules():
        owner = path.relative_to(ROOT).parts[0]
        for line, module, names in _imports(path):
            if module in PACKAGES and module != owner and names and owner != "tests":
                exported = set(getattr(importlib.import_module(module), "__all__", ()))
                missing += [f"{path.relative_to(ROOT)}:{line}: {module}.{name}" for name in names
                            if name not in exported]
    assert not missing, "not in the package's __all__:\n" + "\n".join(missing)


@pytest.mark.parametrize("module", ["domain.types", "domain.errors"])
def test_the_bottom_imports_nothing_of_ours(module):
    path = ROOT / (module.replace(".", "/") + ".py")
    assert all(m.split(".")[0] not in PACKAGES for _, m, _ in _imports(path))


def test_the_checker_sees_each_kind_of_violation(tmp_path):
    """The table catches what it should (so the main test cannot pass by reading nothing)."""
    for package, text in (("index", "from rag.pipeline import Pipeline\nimport domain.types\n"),
                          ("api", "from rag import Pipeline\nfrom rag.retrieve import Retriever\n")):
        (tmp_path / package).mkdir()
        (tmp_path / package / "bad.py").write_text(text, encoding="utf-8")
    assert _violations(tmp_path) == [
        "api/bad.py:2 imports rag.retrieve: api/ may use rag/ only through its top-level names",
        "index/bad.py:1 imports rag.pipeline: index/ may not import rag/",
    ]
