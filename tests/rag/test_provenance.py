"""What learned files record about how they were made: file hashes and the commit."""
from __future__ import annotations

import hashlib
import subprocess

from rag import file_sha256, git_commit


def test_file_sha256_is_the_sha256_of_the_bytes(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(b"x" * (3 << 20))  # more than one block
    assert file_sha256(path) == hashlib.sha256(b"x" * (3 << 20)).hexdigest()


def test_the_commit_and_whether_the_code_differs_from_it(tmp_path):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    assert git_commit(tmp_path) == (None, None)  # not a checkout
    (tmp_path / "models").mkdir()
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / "models" / "m.json").write_text("{}\n")
    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c", "--allow-empty")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "files")
    commit, dirty = git_commit(tmp_path)
    assert len(commit) == 40 and dirty is False
    (tmp_path / "models" / "m.json").write_text('{"w": 1}\n')
    assert git_commit(tmp_path) == (commit, True)
    assert git_commit(tmp_path, ignore=("models",)) == (commit, False)  # a refit's own output
    (tmp_path / "code.py").write_text("x = 2\n")
    assert git_commit(tmp_path, ignore=("models",)) == (commit, True)
