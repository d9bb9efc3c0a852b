"""Logging setup: one place decides levels, and no secret reaches a log line.

httpx logs every request URL at INFO, and webhook URLs carry their token in the path, so URLs from
httpx and httpcore are cut down to scheme and host before any handler sees them. `LOG_LEVEL=DEBUG`
turns on the HTTP client's and SQLAlchemy's statement logs too (for debugging; the test suite runs
in that mode and then scans every log for its canary secrets).
"""

from __future__ import annotations

import logging

import httpx

from tms_console.settings import get_settings

NOISY_LIBRARIES = ("httpx", "httpcore")


def redact_url(value: object) -> object:
    if isinstance(value, httpx.URL):
        port = f":{value.port}" if value.port else ""
        return f"{value.scheme}://{value.host}{port}/[path redacted]"
    return value


class RedactUrls(logging.Filter):
    """Replaces URL arguments of log records with their origin."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_url(arg) for arg in record.args)
        return True


def configure_logging() -> None:
    level = logging.getLevelNamesMapping().get(get_settings().log_level.upper(), logging.INFO)
    root = logging.getLogger()
    if not root.handlers:  # under Granian/uvicorn without a config of their own
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        root.addHandler(handler)
    logging.getLogger("tms_console").setLevel(level)
    verbose = level <= logging.DEBUG
    for name in NOISY_LIBRARIES:
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG if verbose else logging.WARNING)
        if not any(isinstance(f, RedactUrls) for f in logger.filters):
            logger.addFilter(RedactUrls())
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO if verbose else logging.WARNING)
