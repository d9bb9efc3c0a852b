"""The worker's account of a database outage: what counts as one, how a job rides it out, what is logged,
and when the jobs of workers with a stale heartbeat are put back in the queue (tms_console/jobs)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from procrastinate.exceptions import ConnectorException
from procrastinate.jobs import Job

from tms_console.domain.errors import Unavailable
from tms_console.domain.reasons import Reason
from tms_console.jobs import outages, stalled
from tms_console.jobs.outages import OutageLog, OutageRetry, QuietOutages, is_outage


def wrapped(cause: BaseException) -> ConnectorException:
    """A procrastinate error raised from `cause`, as its connector raises them."""
    try:
        raise ConnectorException from cause
    except ConnectorException as exc:
        return exc


def job(attempts: int = 0) -> Job:
    return Job(id=7, queue="deliveries", lock="l", queueing_lock=None, task_name="deliver", attempts=attempts)


REAL_SLEEP = asyncio.sleep
OUTAGES = [
    Unavailable(Reason.UNAVAILABLE, "database unavailable"),
    psycopg.OperationalError("server closed the connection unexpectedly"),
    wrapped(psycopg.OperationalError("consuming input failed")),
    ConnectionRefusedError(),
]
NOT_OUTAGES = [ValueError("bad"), wrapped(psycopg.errors.UniqueViolation("duplicate key")), KeyError("x")]


@pytest.mark.parametrize("error", OUTAGES, ids=lambda e: type(e).__name__)
def test_outages_are_recognised_through_their_causes(error: BaseException) -> None:
    assert is_outage(error)
    decision = OutageRetry().get_retry_decision(exception=error, job=job())
    assert decision is not None and decision.retry_at is not None
    assert decision.lock is None and decision.priority is None  # the same lock and priority: order kept


@pytest.mark.parametrize("error", NOT_OUTAGES, ids=lambda e: type(e).__name__)
def test_other_errors_are_not_outages_and_fail_the_job_as_before(error: BaseException) -> None:
    assert not is_outage(error) and not is_outage(None)
    assert OutageRetry().get_retry_decision(exception=error, job=job()) is None


def test_a_job_that_met_an_outage_waits_longer_each_time_at_most_a_minute() -> None:
    def wait(attempts: int) -> float:
        decision = OutageRetry().get_retry_decision(exception=OUTAGES[0], job=job(attempts))
        assert decision is not None and decision.retry_at is not None
        return (decision.retry_at - datetime.now(UTC)).total_seconds()

    assert 0 < wait(0) <= 1 < wait(3) <= 8 and 50 < wait(30) <= 60


def record(name: str, level: int, error: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(error), error, None) if error else None
    return logging.LogRecord(name, level, __file__, 1, "message", None, exc_info)


def test_the_libraries_account_of_an_outage_is_dropped_and_everything_else_kept() -> None:
    quiet = QuietOutages()
    outage = OUTAGES[2]
    assert not quiet.filter(record("procrastinate.worker", logging.ERROR, outage))  # side task failed
    assert not quiet.filter(record("asyncio", logging.ERROR, outage))  # a job's status not saved
    assert not quiet.filter(record("psycopg.pool", logging.WARNING))  # error connecting in 'pool-1'
    assert quiet.filter(record("psycopg.pool", logging.ERROR))
    assert quiet.filter(record("procrastinate.worker", logging.ERROR, NOT_OUTAGES[1]))  # a real error
    assert quiet.filter(record("procrastinate.worker", logging.INFO))
    assert quiet.filter(record("tms_console.worker", logging.WARNING, outage))  # our own lines, always


def test_the_loop_handler_drops_unsaved_job_statuses_only() -> None:
    seen: list[dict[str, Any]] = []

    class Loop:
        def default_exception_handler(self, context: dict[str, Any]) -> None:
            seen.append(context)

    loop: Any = Loop()
    outages.quiet_exception_handler(loop, {"message": "never retrieved", "exception": OUTAGES[2]})
    assert seen == []
    other = {"message": "never retrieved", "exception": ValueError("bug")}
    outages.quiet_exception_handler(loop, other)
    assert seen == [other]


async def test_an_outage_is_said_once_down_and_once_back(caplog: pytest.LogCaptureFixture) -> None:
    log = OutageLog()
    over = asyncio.create_task(log.over(log.count))
    with caplog.at_level(logging.INFO, "tms_console.worker"):
        log.up()  # nothing was down
        for error in OUTAGES:
            log.down(error)
        await asyncio.sleep(0)
        assert not over.done()
        log.up()
        log.up()
        await asyncio.wait_for(over, 5)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and log.count == 1
    assert lines[0].startswith("worker_database_unavailable error=Unavailable")
    assert lines[1].startswith("worker_database_back after=")


class FakeJobs:
    """procrastinate's job manager as the watch uses it; `outage_rounds` raise like a dead connection."""

    def __init__(
        self, clock: list[float], outage_rounds: frozenset[int], slow_rounds: frozenset[int]
    ) -> None:
        self.clock, self.outage_rounds, self.slow_rounds = clock, outage_rounds, slow_rounds
        self.round = 0
        self.requeued: list[int] = []

    async def get_stalled_jobs(self, seconds_since_heartbeat: float) -> list[Job]:
        self.round += 1
        if self.round in self.outage_rounds:
            raise wrapped(psycopg.OperationalError("connection refused"))
        if self.round in self.slow_rounds:
            self.clock[0] += 5  # the query waited for a connection
        return [job()]

    async def retry_job(self, job: Job) -> None:
        self.requeued.append(self.round)


def watch_rounds(
    monkeypatch: pytest.MonkeyPatch,
    rounds: int,
    *,
    outage: frozenset[int] = frozenset(),
    slow: frozenset[int] = frozenset(),
    held_up: frozenset[int] = frozenset(),
) -> list[int]:
    """Run the watch (stalled=2 s, a round each second) on a fake clock; the rounds that requeued."""
    clock = [0.0]
    jobs = FakeJobs(clock, outage, slow)

    class Done(Exception):
        pass

    async def sleep(seconds: float) -> None:
        clock[0] += seconds + (10 if jobs.round in held_up else 0)
        if jobs.round >= rounds:
            raise Done
        await REAL_SLEEP(0)

    monkeypatch.setattr(stalled.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(stalled.asyncio, "sleep", sleep)
    monkeypatch.setattr(outages, "OUTAGE", OutageLog())
    monkeypatch.setattr(stalled, "OUTAGE", outages.OUTAGE)
    app: Any = type("App", (), {"job_manager": jobs})()
    with pytest.raises(Done):
        asyncio.run(stalled.watch(app, 2))
    return jobs.requeued


def test_the_watch_requeues_once_the_database_answered_steadily_for_a_stalled_period(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert watch_rounds(monkeypatch, 4) == [3, 4]  # rounds at 0, 1 s: still settling; from 2 s: requeue


def test_after_an_outage_slow_answers_or_a_hold_up_it_waits_a_stalled_period_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert watch_rounds(monkeypatch, 8, outage=frozenset({3, 4})) == [7, 8]  # steady again from round 5
    assert watch_rounds(monkeypatch, 8, slow=frozenset({3})) == [5, 6, 7, 8]  # the slow round starts it over
    # Round 3 requeues; then the loop itself is held up 10 s: stale heartbeats prove nothing for a while.
    assert watch_rounds(monkeypatch, 8, held_up=frozenset({3})) == [3, 6, 7, 8]
