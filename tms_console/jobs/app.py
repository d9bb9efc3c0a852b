"""The job queue's app on the console's own Postgres (procrastinate), with its tasks registered.

Built on demand from the settings (`create_app`), so importing this module opens nothing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from procrastinate import App, PsycopgConnector

from tms_console.jobs.outages import OutageRetry
from tms_console.persistence.job_queue import (
    CHECK_TASK,
    DELIVER_TASK,
    DELIVERIES_QUEUE,
    HEALTH_QUEUE,
    MAINTENANCE_QUEUE,
    REFRESH_TASK,
)
from tms_console.services import delivery, delivery_log, health_checks, refresh
from tms_console.settings import get_settings

PURGE_TASK = "purge_delivery_log"
PURGE_CRON = "17 * * * *"
SCHEDULE_TASK = "schedule_health"


def conninfo() -> str:
    """DATABASE_URL as libpq reads it (without SQLAlchemy's `+psycopg` driver tag)."""
    url = get_settings().database_url
    if not url:
        raise RuntimeError("DATABASE_URL is not set")
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def create_app() -> App:
    """The app with every task; open it (`async with app.open_async()`) before running a worker."""
    app = App(connector=PsycopgConnector(conninfo=conninfo(), min_size=1, max_size=4))

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

    @app.periodic(cron=schedule_cron())
    @app.task(name=SCHEDULE_TASK, queue=MAINTENANCE_QUEUE, lock=SCHEDULE_TASK, queueing_lock=SCHEDULE_TASK)
    async def schedule_health(timestamp: int) -> None:
        """Defer the health checks and token refreshes falling due in this tick (one tick per
        HEALTH_SCHEDULE_SECONDS, deferred once however many workers run)."""
        await health_checks.schedule(datetime.fromtimestamp(timestamp, UTC))

    @app.task(name=CHECK_TASK, queue=HEALTH_QUEUE)
    async def check_integration(integration_id: str) -> None:
        """One health check of one integration."""
        await health_checks.check(uuid.UUID(integration_id))

    @app.task(name=REFRESH_TASK, queue=HEALTH_QUEUE)
    async def refresh_token(integration_id: str) -> None:
        """One proactive token refresh (nothing if another worker did it first)."""
        await refresh.refresh(uuid.UUID(integration_id))

    return app


def schedule_cron() -> str:
    """Every HEALTH_SCHEDULE_SECONDS (a divisor of 60): croniter's sixth field is the second."""
    seconds = get_settings().health_schedule_seconds
    return "* * * * *" if seconds == 60 else f"* * * * * */{seconds}"
