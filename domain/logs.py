"""The one helper every layer shares that is not a type: quiet a library's logger for a block.

Used where a dependency logs, at a level a user would take for our error, something that is not
one: milvus-lite's in-process server prints a stack trace for each index it builds, and
onnxruntime's quantizer prints advice on the root logger.
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

__all__ = ["quiet_logger"]


@contextlib.contextmanager
def quiet_logger(name: str | None, level: int = logging.CRITICAL) -> Iterator[None]:
    """Within the block, the logger ``name`` (``None``: the root logger) drops records below ``level``."""
    log = logging.getLogger(name)
    before = log.level
    log.setLevel(level)
    try:
        yield
    finally:
        log.setLevel(before)
