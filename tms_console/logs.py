"""Logging setup: one place decides levels and format, and no secret reaches a log line.

Every line is one JSON object (`LOG_FORMAT=json`, production's default) or one line of text
(`LOG_FORMAT=text`, the default in dev and test): time, level, logger, message, the context of what
the line belongs to (`request_id` of an HTTP request, `job_id` / `delivery_id` of a worker's job), and
the message's own `key=value` fields (`oauth_callback reason=installed type=slack` gives `event`,
`reason` and `type`) plus any `extra=` the call passed.

httpx logs every request URL at INFO, and webhook URLs carry their token in the path, so URLs from
httpx and httpcore are cut down to scheme and host before any handler sees them. `LOG_LEVEL=DEBUG`
turns on the HTTP client's and SQLAlchemy's statement logs too (for debugging; the test suite runs
in that mode and then scans every log for its canary secrets).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

import httpx

from tms_console.settings import get_settings

NOISY_LIBRARIES = ("httpx", "httpcore")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# What a log line belongs to: request_id (HTTP), job_id and delivery_id (the worker). Set by `context`.
_CONTEXT: ContextVar[dict[str, str]] = ContextVar("log_context", default={})  # noqa: B039 (never mutated)
# Our log lines read "event_name key=value key=value": the fields a JSON line carries on its own.
_EVENT = re.compile(r"[a-z][a-z0-9_]*(?= |$)")
_FIELD = re.compile(r" ([a-z][a-z0-9_]*)=(\S*)")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Attributes every LogRecord has: anything else on a record came from `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


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


@contextmanager
def context(**fields: str) -> Iterator[None]:
    """Every log line inside the block (this task and the tasks it starts) carries `fields`."""
    token = _CONTEXT.set(_CONTEXT.get() | fields)
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def current(name: str) -> str | None:
    """A field of the current log context (`current("request_id")`), or None."""
    return _CONTEXT.get().get(name)


def is_request_id(value: str | None) -> bool:
    """Whether `value` may serve as a request id: 1-64 characters of `[A-Za-z0-9._-]`."""
    return value is not None and _REQUEST_ID.fullmatch(value) is not None


def request_id(incoming: str | None) -> str:
    """The caller's id when it is a sane one (`is_request_id`), else a new one (uuid4 hex)."""
    return incoming if incoming is not None and is_request_id(incoming) else uuid.uuid4().hex


def fields_of(record: logging.LogRecord) -> dict[str, object]:
    """A record as the JSON line's object: the fixed fields, the context, then the message's own."""
    message = record.getMessage()
    line: dict[str, object] = {
        "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname,
        "logger": record.name,
        "message": message,
    }
    line |= _CONTEXT.get()
    event = _EVENT.match(message)
    if event and record.name.startswith("tms_console"):
        line.setdefault("event", event.group())
        for name, value in _FIELD.findall(message[event.end() :]):
            line.setdefault(name, value)
    for name, value in vars(record).items():
        if name not in _STANDARD and not name.startswith("_"):
            line.setdefault(name, value)
    return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line (`fields_of`, plus `exception` with the traceback when there is one)."""

    def format(self, record: logging.LogRecord) -> str:
        line = fields_of(record)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The plain line, with the context appended (`request_id=...`)."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = " ".join(f"{name}={value}" for name, value in _CONTEXT.get().items())
        if not extra:
            return text
        first, newline, rest = text.partition("\n")  # after the message, before a traceback
        return f"{first} {extra}{newline}{rest}"


class _OurHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The stream handler `configure_logging` adds (told apart from handlers others installed)."""


def log_format() -> str:
    """`LOG_FORMAT`, or json in production and text in dev and test."""
    settings = get_settings()
    return settings.log_format or ("json" if settings.tms_env == "prod" else "text")


def configure_logging() -> None:
    level = logging.getLevelNamesMapping().get(get_settings().log_level.upper(), logging.INFO)
    root = logging.getLogger()
    formatter = JsonFormatter() if log_format() == "json" else TextFormatter()
    ours = [handler for handler in root.handlers if isinstance(handler, _OurHandler)]
    if not root.handlers:  # under Granian/uvicorn without a config of their own
        ours = [_OurHandler()]
        root.addHandler(ours[0])
    for handler in ours:
        handler.setFormatter(formatter)
    logging.getLogger("tms_console").setLevel(level)
    verbose = level <= logging.DEBUG
    for name in NOISY_LIBRARIES:
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG if verbose else logging.WARNING)
        if not any(isinstance(f, RedactUrls) for f in logger.filters):
            logger.addFilter(RedactUrls())
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO if verbose else logging.WARNING)
