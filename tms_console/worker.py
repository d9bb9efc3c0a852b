"""`python -m tms_console.worker [QUEUE ...]`: the job worker, with the console's settings (same environment).

Run one or more per host; each takes jobs from every queue, or only from the queues named. SIGTERM or
Ctrl-C stops it after the jobs in hand (a second signal stops it at once). Jobs of a worker that died
without stopping (kill -9, a lost host) are found by their missing heartbeat and run again by any live
worker.

A database outage (Postgres restarted, a failover, the network) does not end the process. A job that
cannot reach Postgres runs again (`jobs/outages.py`); when procrastinate's own worker stops because its
connections died, this one waits until Postgres takes connections again and starts a fresh worker on a
fresh pool. The jobs the previous worker could not record as done (they still say `doing`) run again at
once: requeued as that worker unregisters (jobs/stalled.py), or on reconnect when it could not unregister.
The log says once that the database went away and once that it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import signal
import sys

from procrastinate.worker import Worker

from tms_console.api import worker_metrics
from tms_console.jobs import create_app
from tms_console.jobs import stalled as stalled_jobs
from tms_console.jobs.app import conninfo
from tms_console.jobs.outages import OUTAGE, QuietOutages, is_outage, quiet_exception_handler
from tms_console.logs import configure_logging
from tms_console.persistence.db import PoolSize, accepts_connections, dispose_engine, use_pool
from tms_console.persistence.job_queue import (
    DELIVERIES_QUEUE,
    HEALTH_QUEUE,
    MAINTENANCE_QUEUE,
    installs_queue,
)
from tms_console.settings import get_settings

CONCURRENCY = 20
RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0)  # waits between probes while Postgres is down (then every 5 s)
logger = logging.getLogger("tms_console.worker")


def all_queues() -> list[str]:
    """Every queue a worker takes unless told (the installs queue's name is a setting)."""
    return [DELIVERIES_QUEUE, HEALTH_QUEUE, installs_queue(), MAINTENANCE_QUEUE]


async def _serve(stop: asyncio.Event, stalled: float, queues: list[str]) -> tuple[str | None, int | None]:
    """One procrastinate worker on a fresh pool until `stop` is set (None: it finished the jobs in hand);
    otherwise why it ended: a database outage it did not survive, or one it did. With it, the worker's id
    when it ended without unregistering (a job whose status could not be saved then still says `doing`
    under that id: `_requeue_left_behind` frees it on reconnect)."""
    started: list[Worker] = []
    try:
        cause = await _run_worker(stop, stalled, started, queues)
    except Exception as exc:
        if not is_outage(exc):
            raise
        cause = type(exc).__name__
    return cause, started[0].worker_id if started else None  # procrastinate clears it once unregistered


async def _run_worker(
    stop: asyncio.Event, stalled: float, started: list[Worker], queues: list[str]
) -> str | None:
    app = create_app()
    async with app.open_async():
        watcher = asyncio.create_task(stalled_jobs.watch(app, stalled))
        # procrastinate's own Worker (what `app.run_worker_async` builds), kept so its id is known after.
        started.append(
            Worker(
                app=app,
                queues=queues,
                concurrency=CONCURRENCY,
                update_heartbeat_interval=stalled / 3,
                stalled_worker_timeout=stalled,
                install_signal_handlers=False,
            )
        )
        worker = asyncio.create_task(started[0].run())
        stopping = asyncio.create_task(stop.wait())
        outage_over = asyncio.create_task(OUTAGE.over(OUTAGE.count))
        try:
            await asyncio.wait({worker, stopping, outage_over}, return_when=asyncio.FIRST_COMPLETED)
            worker.cancel()  # procrastinate's graceful stop: the jobs in hand finish first
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        finally:
            for task in (stopping, outage_over, watcher):
                task.cancel()
            await asyncio.gather(stopping, outage_over, watcher, return_exceptions=True)
    if stop.is_set():
        return None
    return "outage_over" if outage_over.done() else "worker_stopped"  # else a side task failed


async def _requeue_left_behind(worker_id: int) -> int | None:
    """Unregister this process's previous worker, which could not itself, requeueing the jobs it could not
    record as done (jobs/stalled.py); None when done, or the id again when the database went away
    meanwhile (the next reconnect tries again)."""
    try:
        app = create_app()
        async with app.open_async():
            await app.job_manager.unregister_worker(worker_id)
    except Exception as exc:
        if is_outage(exc):
            return worker_id
        logger.warning("left_behind_jobs_not_requeued error=%s", type(exc).__name__)  # the watch will
    return None


async def _reachable(stop: asyncio.Event) -> bool:
    """Wait until Postgres takes connections (True; at once when it does), or until `stop` (False)."""
    for attempt in itertools.count():
        if stop.is_set():
            return False
        if await accepts_connections(conninfo()):
            OUTAGE.up()
            return True
        OUTAGE.down("unreachable")
        await _pause(stop, RECONNECT_SECONDS[min(attempt, len(RECONNECT_SECONDS) - 1)])
    return False


async def _pause(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep `seconds` unless `stop` comes first; whether it did not."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return not stop.is_set()


def _stop_on_signals(stop: asyncio.Event) -> None:
    """The first SIGTERM/SIGINT sets `stop`; the handlers are then removed, so a second one ends the
    process at once (as procrastinate's own handlers do)."""
    loop = asyncio.get_running_loop()

    def first_signal() -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        logger.info("worker_stopping after_jobs_in_hand=true")
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, first_signal)


async def run(queues: list[str] | None = None) -> None:
    """Run workers (on `queues`, or all of them) until SIGTERM/SIGINT, riding out database outages; then let
    the jobs in hand finish."""
    settings = get_settings()
    stalled = settings.worker_stalled_seconds
    # One connection per job in hand, never a wait, and one more for a metrics scrape (the queue's depth);
    # a job whose connection dies in use fails as an outage and runs again.
    use_pool(PoolSize(size=CONCURRENCY, overflow=1))
    stop = asyncio.Event()
    _stop_on_signals(stop)
    asyncio.get_running_loop().set_exception_handler(quiet_exception_handler)
    error: str | None = None
    left_behind: int | None = None
    port = settings.worker_metrics_port
    scrapes = await worker_metrics.serve(settings.worker_metrics_host, port) if port else None
    try:
        while await _reachable(stop):
            if left_behind is not None:
                left_behind = await _requeue_left_behind(left_behind)
            # Right after an outage every worker's heartbeat is stale: let the live ones beat again before
            # a new procrastinate worker starts, since it prunes the workers it finds stale.
            if error is not None and not await _pause(stop, stalled):
                break
            error, left_behind = await _serve(stop, stalled, queues or all_queues())
            if error is None:
                break
            logger.warning("worker_restarting cause=%s", error)
    finally:
        if scrapes is not None:
            scrapes.close()
        await dispose_engine()
    logger.info("worker_stopped")


def main(argv: list[str] | None = None) -> None:
    known = all_queues()
    names = list(sys.argv[1:] if argv is None else argv) or known
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise SystemExit(f"unknown queue(s): {', '.join(unknown)}; known: {', '.join(known)}")
    configure_logging()
    if get_settings().log_level.upper() != "DEBUG":  # DEBUG keeps every library's account of an outage
        for handler in logging.getLogger().handlers:
            handler.addFilter(QuietOutages())
    logger.info("worker_starting concurrency=%d queues=%s", CONCURRENCY, ",".join(names))
    asyncio.run(run(names))


if __name__ == "__main__":
    main()
