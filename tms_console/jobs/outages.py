"""A database outage seen from the job queue: what counts as one, how a job rides it out, how it is logged.

When Postgres restarts, every layer notices at once: the job being run cannot record its attempt, the
queue cannot save the job's status, procrastinate's worker stops. None of that is a bug, and nothing is
lost (an unrecorded job runs again), so the worker says it once in its own words (`tms_console.worker`)
and these pieces keep the libraries from repeating it with a traceback per job.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import psycopg
from procrastinate import BaseRetryStrategy, RetryDecision
from procrastinate.jobs import Job

from tms_console.domain.errors import Unavailable

# Seconds before a job that met an outage runs again: doubling from 1, at most a minute.
MAX_OUTAGE_RETRY_SECONDS = 60
logger = logging.getLogger("tms_console.worker")


def is_outage(error: BaseException | None) -> bool:
    """Whether `error`, or what caused it, means the database could not be reached or the connection died."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, Unavailable | psycopg.OperationalError | ConnectionError | TimeoutError):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


class OutageLog:
    """Says once that the database went away and once that it is back, whichever part noticed: a job
    that could not reach it, the stalled-jobs watch, the worker loop. Counts the outages, so the worker
    can start afresh after one (a job whose status could not be saved is then found and run again)."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.count = 0
        self._changed = asyncio.Event()

    def down(self, error: BaseException | str) -> None:
        if self.since is None:
            self.since = time.monotonic()
            self.count += 1
            self._changed.set()
            name = error if isinstance(error, str) else type(error).__name__
            logger.warning("worker_database_unavailable error=%s; what it could not record runs again", name)

    def up(self) -> None:
        if self.since is not None:
            logger.warning("worker_database_back after=%.1fs", time.monotonic() - self.since)
            self.since = None
            self._changed.set()

    async def over(self, after: int) -> None:
        """Return once an outage that began after `after` outages is over."""
        while self.count <= after or self.since is not None:
            self._changed.clear()
            await self._changed.wait()


OUTAGE = OutageLog()  # one per process: the worker's


class OutageRetry(BaseRetryStrategy):
    """A job that met a database outage runs again (same job: same lock, priority and arguments), without
    limit: it did nothing it cannot do again. Any other error fails the job as before."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if not is_outage(exception):
            return None
        OUTAGE.down(exception)
        return RetryDecision(retry_in={"seconds": min(2**job.attempts, MAX_OUTAGE_RETRY_SECONDS)})


class QuietOutages(logging.Filter):
    """Drops the libraries' records whose exception is a database outage (procrastinate's "side task
    failed", its job errors, psycopg's reconnect attempts); the worker's own lines say what happened."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("tms_console"):
            return True
        if record.name.startswith("psycopg") and record.levelno < logging.ERROR:
            return False  # "error connecting in 'pool-1'", once per reconnect attempt
        return not (record.exc_info and is_outage(record.exc_info[1]))


def quiet_exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The event loop's handler: a job whose status could not be saved in an outage is no news (it stays
    `doing` and runs again); anything else goes to asyncio's default handler."""
    if is_outage(context.get("exception")):
        logger.debug("job_status_not_saved error=%s", type(context["exception"]).__name__)
        return
    loop.default_exception_handler(context)
