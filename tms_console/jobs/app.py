"""The job queue's app on the console's own Postgres (procrastinate), with its tasks registered.

Built on demand from the settings (`create_app`), so importing this module opens nothing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import psycopg_pool
from procrastinate import App, JobContext, PsycopgConnector, RetryStrategy

from tms_console.jobs.outages import OutageRetry
from tms_console.jobs.stalled import RequeueOnUnregister
from tms_console.logs import context as log_context
from tms_console.persistence.db import libpq_url
from tms_console.persistence.job_queue import (
    CHECK_TASK,
    DELIVER_TASK,
    DELIVERIES_QUEUE,
    EXPIRE_REPLACEMENT_TASK,
    HEALTH_QUEUE,
    INSTALL_DETAILS_TASK,
    MAINTENANCE_QUEUE,
    NOTIFY_TASK,
    REFRESH_TASK,
    installs_queue,
)
from tms_console.services import (
    delivery,
    delivery_log,
    health_checks,
    install,
    notifications,
    refresh,
    replacements,
)
from tms_console.settings import get_settings

PURGE_TASK = "purge_delivery_log"
PURGE_CRON = "17 * * * *"
# A notice the platform did not take (or met a database outage) is tried again after 5 s, 25 s, 2 and 10 min.
NOTICE_RETRY = RetryStrategy(max_attempts=4, exponential_wait=5)
SCHEDULE_TASK = "schedule_health"


def conninfo() -> str:
    """DATABASE_URL as libpq reads it (without SQLAlchemy's `+psycopg` driver tag)."""
    url = get_settings().database_url
    if not url:
        raise RuntimeError("DATABASE_URL is not set")
    return libpq_url(url)


def create_app() -> App:
    """The app with every task; open it (`async with app.open_async()`) before running a worker.

    Its pool's connections are in autocommit (each of procrastinate's queries is one statement or one
    function call, atomic on its own): no BEGIN and COMMIT round trips around every fetch and finish.
    """
    connector = PsycopgConnector(
        conninfo=conninfo(), min_size=1, max_size=4, configure=_autocommit, pool_factory=_pool
    )
    app = App(connector=connector)
    app.job_manager = RequeueOnUnregister(connector)  # a stopping worker leaves no job `doing`

    @app.task(name=DELIVER_TASK, queue=DELIVERIES_QUEUE, retry=OutageRetry(), pass_context=True)
    async def deliver(context: JobContext, delivery_id: str, attempt: int = 1) -> None:
        """One attempt of one delivery (the intake's jobs are attempt 1); the service records it and
        queues the next one if any. A database outage midway runs the job again (it sends again at
        most what it could not record, with the same message id). Its log lines name the job and delivery."""
        with log_context(job_id=str(context.job.id), delivery_id=delivery_id[:40]):
            await delivery.deliver(delivery_id, attempt)

    @app.task(name=NOTIFY_TASK, queue=DELIVERIES_QUEUE, retry=NOTICE_RETRY)
    async def notify(tenant_id: str, integration_id: str, text: str) -> None:
        """One console notice to the integration the tenant's admins chose (services/notifications)."""
        await notifications.send_notice(tenant_id, integration_id, text)

    # Every hour; procrastinate defers each tick once however many workers run. The lock keeps two
    # ticks (a slow run and the next one) from deleting side by side.
    @app.periodic(cron=PURGE_CRON)
    @app.task(
        name=PURGE_TASK, queue=MAINTENANCE_QUEUE, lock=PURGE_TASK, queueing_lock=PURGE_TASK, pass_context=True
    )
    async def purge_delivery_log(context: JobContext, timestamp: int) -> None:
        """Delete the delivery log older than DELIVERY_LOG_DAYS (settled events only)."""
        with log_context(job_id=str(context.job.id)):
            await delivery_log.purge_old_events()

    @app.task(name=INSTALL_DETAILS_TASK, queue=installs_queue(), retry=OutageRetry(), pass_context=True)
    async def install_details(
        context: JobContext, tenant_id: str, project_id: str, integration_id: str
    ) -> None:
        """A first install's display-only details (queued with its row; ids only, never a token). Display
        only: a provider failure is logged and not retried; a database outage runs it again."""
        with log_context(job_id=str(context.job.id)):
            await install.add_details(uuid.UUID(tenant_id), uuid.UUID(project_id), uuid.UUID(integration_id))

    @app.task(name=EXPIRE_REPLACEMENT_TASK, queue=MAINTENANCE_QUEUE, retry=OutageRetry())
    async def expire_replacement(handle: str) -> None:
        """Drop a held account replacement nobody confirmed in time, revoking its new tokens."""
        await replacements.expire(handle)

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


async def _autocommit(connection: psycopg.AsyncConnection[Any]) -> None:
    await connection.set_autocommit(True)


def _pool(**options: Any) -> psycopg_pool.AsyncConnectionPool:
    """procrastinate's pool without its check of each connection taken (a round trip before every query):
    a connection the server dropped fails its query instead, which the worker rides out as an outage."""
    options.pop("check", None)
    return psycopg_pool.AsyncConnectionPool(**options)
