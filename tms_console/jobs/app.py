"""The job queue's app on the console's own Postgres (procrastinate), with its tasks registered.

Built on demand from the settings (`create_app`), so importing this module opens nothing.
"""

from __future__ import annotations

from typing import Any

import psycopg
import psycopg_pool
from procrastinate import App, PsycopgConnector

from tms_console.jobs.outages import OutageRetry
from tms_console.persistence.job_queue import DELIVER_TASK, DELIVERIES_QUEUE, MAINTENANCE_QUEUE
from tms_console.services import delivery, delivery_log
from tms_console.settings import get_settings

PURGE_TASK = "purge_delivery_log"
PURGE_CRON = "17 * * * *"


def conninfo() -> str:
    """DATABASE_URL as libpq reads it (without SQLAlchemy's `+psycopg` driver tag)."""
    url = get_settings().database_url
    if not url:
        raise RuntimeError("DATABASE_URL is not set")
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def create_app() -> App:
    """The app with every task; open it (`async with app.open_async()`) before running a worker.

    Its pool's connections are in autocommit (each of procrastinate's queries is one statement or one
    function call, atomic on its own): no BEGIN and COMMIT round trips around every fetch and finish.
    """
    connector = PsycopgConnector(
        conninfo=conninfo(), min_size=1, max_size=4, configure=_autocommit, pool_factory=_pool
    )
    app = App(connector=connector)

    @app.task(name=DELIVER_TASK, queue=DELIVERIES_QUEUE, retry=OutageRetry())
    async def deliver(delivery_id: str, attempt: int = 1) -> None:
        """One attempt of one delivery (the intake's jobs are attempt 1); the service records it and
        queues the next one if any. A database outage midway runs the job again (it sends again at
        most what it could not record, with the same message id)."""
        await delivery.deliver(delivery_id, attempt)

    # Every hour; procrastinate defers each tick once however many workers run. The lock keeps two
    # ticks (a slow run and the next one) from deleting side by side.
    @app.periodic(cron=PURGE_CRON)
    @app.task(name=PURGE_TASK, queue=MAINTENANCE_QUEUE, lock=PURGE_TASK, queueing_lock=PURGE_TASK)
    async def purge_delivery_log(timestamp: int) -> None:
        """Delete the delivery log older than DELIVERY_LOG_DAYS (settled events only)."""
        await delivery_log.purge_old_events()

    return app


async def _autocommit(connection: psycopg.AsyncConnection[Any]) -> None:
    await connection.set_autocommit(True)


def _pool(**options: Any) -> psycopg_pool.AsyncConnectionPool:
    """procrastinate's pool without its check of each connection taken (a round trip before every query):
    a connection the server dropped fails its query instead, which the worker rides out as an outage."""
    options.pop("check", None)
    return psycopg_pool.AsyncConnectionPool(**options)
