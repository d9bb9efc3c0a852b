"""Jobs of dead workers go back in the queue: found by their stale heartbeat, run again by a live worker.

A stale heartbeat means a dead worker only while the database answers: during a Postgres restart (or while
this process itself was held up) every worker's heartbeat goes stale, the live ones' too, and requeueing
their jobs would run them twice at once. So the watch requeues only once the database has answered it
promptly for a whole `stalled` period in a row, by which time every live worker has beaten again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from procrastinate import App
from procrastinate.jobs import Job
from procrastinate.manager import JobManager

from tms_console.jobs.outages import OUTAGE, is_outage

logger = logging.getLogger("tms_console.worker")


async def stalled_jobs(app: App, *, stalled_seconds: float) -> list[Job]:
    """The `doing` jobs of workers whose heartbeat is older than `stalled_seconds` (or gone)."""
    return list(await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_seconds))


async def requeue(manager: JobManager, jobs: Sequence[Job], *, found: str = "stalled_jobs") -> None:
    """Put jobs back in the queue (same id, lock, priority and arguments); `found` says how, in the log."""
    for job in jobs:
        await manager.retry_job(job)
    if jobs:
        logger.warning("%s_requeued count=%d", found, len(jobs))


class RequeueOnUnregister(JobManager):
    """procrastinate's job manager, except that unregistering a worker first requeues the jobs still
    `doing` under its id.

    procrastinate unregisters a worker once the jobs in hand have ended, so what still says `doing` then is
    a job whose status could not be saved (a database outage): no one runs it, and the watch above would
    only find it after its wait (once unregistered, under no worker id). A worker that could not even
    unregister is unregistered by worker.py as soon as the database is back.
    """

    async def unregister_worker(self, worker_id: int) -> None:
        left = list(await self.list_jobs_async(status="doing", worker_id=worker_id))
        await requeue(self, left, found="left_behind_jobs")
        await super().unregister_worker(worker_id)


async def watch(app: App, stalled: float) -> None:
    """Every `stalled / 2` seconds, requeue the jobs of dead workers, once the database has answered
    steadily for `stalled` seconds (see the module's docstring). Runs until cancelled."""
    steady_since: float | None = None
    previous = time.monotonic()
    while True:
        began = time.monotonic()
        held_up = began - previous > stalled  # this loop itself did not run for a while
        try:
            jobs = await stalled_jobs(app, stalled_seconds=stalled)
        except Exception as exc:  # a database blip must not stop the worker; the next round retries
            steady_since = None
            if is_outage(exc):
                OUTAGE.down(exc)
            else:
                logger.warning("stalled_jobs_check_failed error=%s", type(exc).__name__)
        else:
            OUTAGE.up()
            now = time.monotonic()
            if steady_since is None or held_up or now - began > stalled / 3:  # slow: held up on the way
                steady_since = now
            elif now - steady_since >= stalled and jobs:
                await _requeue_quietly(app, jobs)
        previous = time.monotonic()
        await asyncio.sleep(stalled / 2)


async def _requeue_quietly(app: App, jobs: Sequence[Job]) -> None:
    try:
        await requeue(app.job_manager, jobs)
    except Exception as exc:  # the next round finds what is left
        if not is_outage(exc):
            logger.warning("stalled_jobs_requeue_failed error=%s", type(exc).__name__)
