"""The manifest: written atomically, read back exactly, and a bad one is a clear error."""
from __future__ import annotations

import json

import pytest

from domain.errors import IndexCorruptError, IndexMismatchError
from index.manifest import MANIFEST, SCHEMA_VERSION, IndexSettings, Manifest, read_manifest, write_manifest

SETTINGS = IndexSettings(model_name="m", model_sha256="ab" * 32, dimension=8, tokenizer="cl100k_base",
                         chunking={"chunk_tokens": 200, "overlap_tokens": 32})


def test_a_written_manifest_reads_back_exactly_and_leaves_no_temporary_file(tmp_path):
    manifest = Manifest(SCHEMA_VERSION, SETTINGS, created_at=1700000000.5)
    write_manifest(tmp_path, manifest)
    assert read_manifest(tmp_path) == manifest
    assert [p.name for p in tmp_path.iterdir()] == [MANIFEST]


def test_no_manifest_reads_as_none(tmp_path):
    assert read_manifest(tmp_path) is None
    assert read_manifest(tmp_path / "missing") is None


@pytest.mark.parametrize("text", ["{", "[]", '{"schema_version": 2}', '{"schema_version": "x", "settings": {}}'])
def test_a_damaged_manifest_is_a_corrupt_index(tmp_path, text):
    (tmp_path / MANIFEST).write_text(text, encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="not a valid manifest"):
        read_manifest(tmp_path)


def test_a_manifest_from_a_newer_version_asks_for_a_rebuild(tmp_path):
    body = json.loads(Manifest(SCHEMA_VERSION, SETTINGS, 1.0).to_json())
    body["schema_version"] = SCHEMA_VERSION + 1
    (tmp_path / MANIFEST).write_text(json.dumps(body), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="Rebuild"):
        read_manifest(tmp_path)
