"""Migrating an index of the previous format (schema 1) to one store (schema 2).

Schema 1 kept one full copy of every store per write, in ``gen-NNNNNN/`` folders, with the
manifest naming the one in force. Migrating copies that generation's ``store.sqlite`` aside, adds
what schema 2 keeps in it (write numbers, counts), renames it into place,
and only then rewrites the manifest; the old folders go last. A crash at any point leaves the
schema-1 manifest in force, and the next open migrates again from the same untouched generation.
"""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from domain.errors import IndexCorruptError
from index.manifest import MANIFEST, SCHEMA_VERSION, STORE_FILE, Manifest, fsync_dir, read_manifest, write_manifest
from index.store import Store

__all__ = ["migrate_generations"]

logger = logging.getLogger(__name__)


def _generation_folder(root: Path, generation: int) -> Path:
    return root / f"gen-{generation:06d}"


def migrate_generations(root: Path) -> None:
    """Migrate the schema-1 index at ``root`` in place (the caller holds the write lock)."""
    manifest = read_manifest(root)
    if manifest is None or manifest.schema_version == SCHEMA_VERSION:
        return  # another process migrated it meanwhile
    source = _generation_folder(root, manifest.generation or 0) / STORE_FILE
    if not source.is_file():
        raise IndexCorruptError(f"cannot migrate the index in {root}: its manifest names {source}, which is missing")
    staged = root / f"{STORE_FILE}.migrating"
    for leftover in root.glob(f"{STORE_FILE}.migrating*"):
        leftover.unlink()
    shutil.copyfile(source, staged)
    store = Store(staged)  # adds the schema-2 tables and columns
    store.rebuild_derived_tables()
    store.close()  # the last connection checkpoints the WAL into the file
    for suffix in ("-wal", "-shm"):
        Path(f"{root / STORE_FILE}{suffix}").unlink(missing_ok=True)
    with open(staged, "rb") as f:
        os.fsync(f.fileno())
    os.replace(staged, root / STORE_FILE)
    fsync_dir(root)
    write_manifest(root, Manifest(SCHEMA_VERSION, manifest.settings, manifest.created_at))
    for folder in root.glob("gen-*"):
        shutil.rmtree(folder, ignore_errors=True)
    for tmp in root.glob(f"{MANIFEST}.*.tmp"):
        tmp.unlink(missing_ok=True)
    logger.info("migrated the index in %s from generation folders to one store", root)
