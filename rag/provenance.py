"""What a learned file records about how it was made: the sha256 of the files it came from, and the
commit of the code that made it (the reader's card, the fitted models, the eval's history)."""
from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

__all__ = ["file_sha256", "git_commit"]

_CHECKOUT = Path(__file__).resolve().parents[1]


def file_sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def git_commit(cwd: str | os.PathLike[str] | None = None, *,
               ignore: tuple[str, ...] = ()) -> tuple[str | None, bool | None]:
    """The checked-out commit of ``cwd`` (default: the checkout this code runs from) and whether its
    tracked files have changes outside the paths in ``ignore``; ``(None, None)`` outside git, or
    when this code is installed rather than checked out (inside some other repository)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=cwd or _CHECKOUT, capture_output=True, text=True, check=True,
                              timeout=10).stdout.strip()
    try:
        if cwd is None and Path(git("rev-parse", "--show-toplevel")).resolve() != _CHECKOUT:
            return None, None
        changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", *(f":(exclude){p}" for p in ignore))
        return git("rev-parse", "HEAD") or None, bool(changed)
    except (OSError, subprocess.SubprocessError):
        return None, None
