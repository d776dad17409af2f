"""The shared helper that quiets a library's logger for a block."""
from __future__ import annotations

import logging

from domain.logs import quiet_logger


def test_records_below_the_level_are_dropped_only_inside_the_block(caplog):
    log = logging.getLogger("some.library")
    log.setLevel(logging.INFO)
    with caplog.at_level(logging.INFO, logger="some.library"):
        with quiet_logger("some.library"):
            log.error("a stack trace that is not ours")
        with quiet_logger("some.library", logging.ERROR):
            log.warning("advice")
            log.error("a real error")
        log.info("after")
    assert [r.getMessage() for r in caplog.records] == ["a real error", "after"]
    assert log.level == logging.INFO
