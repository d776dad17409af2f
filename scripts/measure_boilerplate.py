"""Compare what an older revision's loaders and boilerplate filter indexed with what today's index.

    .venv/bin/python scripts/measure_boilerplate.py --old-rev e62d614 FILE_OR_DIR...

For each file: the characters of its stored text and of the text indexed, old and new, and the
characters of lines that the new code indexes but the old one lost (dropped by the extractor or
the filter). The old revision's ``rag/loaders.py``, ``rag/clean.py`` and ``rag/types.py`` are read with ``git show``
and imported from a temporary folder; nothing in the repository changes.
"""
from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import tempfile
from pathlib import Path

from domain.errors import DocumentError
from rag import indexable_ranges, iter_files, load_file, mark_boilerplate

REPO = Path(__file__).resolve().parent.parent


def _old_loaders(rev: str, folder: Path):
    """The old revision's ``rag.loaders`` (with its ``rag.clean``) as a separate package ``oldrag``."""
    package = folder / "oldrag"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in ("loaders", "clean", "types"):
        source = subprocess.run(["git", "show", f"{rev}:rag/{name}.py"], cwd=REPO, check=True, capture_output=True,
                                text=True).stdout
        for own in ("clean", "types"):
            source = source.replace(f"from rag.{own} import", f"from oldrag.{own} import")
        (package / f"{name}.py").write_text(source)
    sys.path.insert(0, str(folder))
    return importlib.import_module("oldrag.loaders")


def _indexed(text: str, ranges) -> str:
    return "\n".join(text[a:b] for a, b in ranges)


def _lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old-rev", required=True, help="the git revision to compare with")
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        old = _old_loaders(args.old_rev, Path(tmp))
        files = list(iter_files(args.paths))
        new_docs, old_docs = [], []
        for path in files:
            try:
                [new_doc], _ = load_file(path)
                [old_doc], _ = old.load_file(path)
            except (DocumentError, ValueError) as exc:
                print(f"{path}: skipped ({exc})", file=sys.stderr)
                continue
            new_docs.append(new_doc)
            old_docs.append(old_doc)
        new_docs = mark_boilerplate(new_docs)
        totals = [0] * 5
        print(f"{'file':<48} {'old text':>9} {'old idx':>8} {'new text':>9} {'new idx':>8} {'regained':>8}")
        for new_doc, old_doc in zip(new_docs, old_docs, strict=True):
            old_indexed = _indexed(old_doc.text, old_doc.indexable or [(0, len(old_doc.text))])
            new_indexed = _indexed(new_doc.text, indexable_ranges(new_doc))
            old_flat = " ".join(old_indexed.split())
            regained = sum(len(line) for line in _lines(new_indexed) if line not in old_flat)
            row = [len(old_doc.text), len(old_indexed), len(new_doc.text), len(new_indexed), regained]
            totals = [t + r for t, r in zip(totals, row, strict=True)]
            name = Path(new_doc.source).name[-48:]
            print(f"{name:<48} {row[0]:>9} {row[1]:>8} {row[2]:>9} {row[3]:>8} {row[4]:>8}  {new_doc.title[:40]!r}")
        print(f"{'total (' + str(len(new_docs)) + ' files)':<48} " + " ".join(
            f"{v:>{w}}" for v, w in zip(totals, (9, 8, 9, 8, 8), strict=True)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
