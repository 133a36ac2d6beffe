"""Logging in nats-server's style: `[pid] 2026/11/27 09:00:00.123456 [INF] text`, to stderr or a file.

-D enables [DBG], -V enables [TRC] (protocol traces); the level can change on a reload.
"""

from __future__ import annotations

import logging
import os
import sys
import time

TRACE = 5
logging.addLevelName(TRACE, "TRC")

_LABELS = {TRACE: "TRC", logging.DEBUG: "DBG", logging.INFO: "INF", logging.WARNING: "WRN",
           logging.ERROR: "ERR", logging.CRITICAL: "FTL"}


class NatsStyleFormatter(logging.Formatter):
    def __init__(self, with_time: bool) -> None:
        super().__init__()
        self.with_time = with_time
        self.pid = os.getpid()

    def format(self, record: logging.LogRecord) -> str:
        label = _LABELS.get(record.levelno, record.levelname)
        message = record.getMessage()
        if self.with_time:
            stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(record.created))
            micros = int((record.created % 1) * 1_000_000)
            return f"[{self.pid}] {stamp}.{micros:06d} [{label}] {message}"
        return f"[{self.pid}] [{label}] {message}"


def configure_logging(debug: bool, trace: bool, with_time: bool, log_file: str | None) -> logging.Logger:
    logger = logging.getLogger("edgenats")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    handler: logging.Handler
    handler = logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
    handler.setFormatter(NatsStyleFormatter(with_time))
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(TRACE if trace else logging.DEBUG if debug else logging.INFO)
    return logger
