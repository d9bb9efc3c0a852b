"""`python -m tms_console.worker`: the job worker, with the console's settings (same environment).

Run one or more per host. SIGTERM or Ctrl-C stops it after the jobs in hand (procrastinate's graceful
stop; a second signal aborts them). Jobs of a worker that died without stopping (kill -9, a lost host)
are found by their missing heartbeat and run again by any live worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from procrastinate import App

from tms_console.jobs import create_app
from tms_console.logs import configure_logging
from tms_console.persistence.db import PoolSize, dispose_engine, use_pool
from tms_console.persistence.job_queue import DELIVERIES_QUEUE
from tms_console.settings import get_settings

CONCURRENCY = 20
logger = logging.getLogger("tms_console.worker")


async def requeue_stalled(app: App, *, stalled_seconds: float) -> int:
    """Put the jobs of dead workers back in the queue (same id, lock and priority); how many."""
    jobs = list(await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_seconds))
    for job in jobs:
        await app.job_manager.retry_job(job)
    if jobs:
        logger.warning("stalled_jobs_requeued count=%d", len(jobs))
    return len(jobs)


async def _watch_stalled(app: App, stalled_seconds: float) -> None:
    while True:
        try:
            await requeue_stalled(app, stalled_seconds=stalled_seconds)
        except Exception as exc:  # a database blip must not stop the worker; the next round retries
            logger.warning("stalled_jobs_check_failed error=%s", type(exc).__name__)
        await asyncio.sleep(stalled_seconds / 2)


async def run() -> None:
    """Run the worker until SIGTERM/SIGINT, then let the jobs in hand finish."""
    stalled = get_settings().worker_stalled_seconds
    use_pool(PoolSize(size=CONCURRENCY, overflow=0))  # one connection per job in hand, never a wait
    app = create_app()
    async with app.open_async():
        watcher = asyncio.create_task(_watch_stalled(app, stalled))
        try:
            await app.run_worker_async(
                queues=[DELIVERIES_QUEUE],
                concurrency=CONCURRENCY,
                update_heartbeat_interval=stalled / 3,
                stalled_worker_timeout=stalled,
                install_signal_handlers=True,
            )
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await dispose_engine()


def main() -> None:
    configure_logging()
    logger.info("worker_starting concurrency=%d", CONCURRENCY)
    asyncio.run(run())


if __name__ == "__main__":
    main()
