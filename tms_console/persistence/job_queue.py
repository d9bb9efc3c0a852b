"""The job queue's side of a transaction: deferring procrastinate jobs on the caller's own connection.

Jobs are inserted with procrastinate's supported `connection=` argument (JobManager), on the very
connection of the SQLAlchemy session, so a job exists exactly when the rows it works on were committed.
No pool is opened here: deferring on a given connection never touches the connector's pool. The hot
paths (the intake, a delivery's retry) queue their jobs inside the very statement that stores their rows,
through procrastinate's own SQL function (`defer_jobs_sql`): one round trip, same jobs, same triggers.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from procrastinate import PsycopgConnector
from procrastinate.jobs import Job
from procrastinate.manager import JobManager
from procrastinate.types import JSONDict
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tms_console.persistence.db import driver
from tms_console.settings import get_settings

DELIVER_TASK = "deliver"
NOTIFY_TASK = "notify"  # a console notice to the integration a tenant's admins chose (services/notifications)
NOTIFY_LOCK_PREFIX = "notify:"  # one tenant's notices are sent one at a time, in order (procrastinate's lock)
DELIVERIES_QUEUE = "deliveries"
MAINTENANCE_QUEUE = "maintenance"  # periodic housekeeping (the delivery log's retention, scheduling)
EXPIRE_REPLACEMENT_TASK = "expire_replacement"
# A first install's display-only details (e.g. Discord's channel name), fetched once the browser was sent on,
# on the queue the settings name (`installs_queue`).
INSTALL_DETAILS_TASK = "install_details"
# Above a delivery's and a retry's: the agent is looking at the new card, and it is one job per first
# install, so a backlog of deliveries never holds it up and it never holds them up for long.
INSTALL_DETAILS_PRIORITY = 2
HEALTH_QUEUE = "health"  # health checks and proactive token refreshes
CHECK_TASK = "check_integration"
REFRESH_TASK = "refresh_token"
# At most one check and one refresh queued per integration (procrastinate's queueing lock).
CHECK_LOCK_PREFIX = "health:check:"
REFRESH_LOCK_PREFIX = "health:refresh:"
# Below a delivery's priority (0): a backlog of checks never holds up a ticket event.
HEALTH_PRIORITY = -1
# Tables, types and functions of procrastinate's own schema (applied by migration 0003, not by models).
JOB_QUEUE_PREFIX = "procrastinate_"
# A retry outranks the ticket's later events: procrastinate runs no job while a job with the same lock
# and a higher priority waits, even one scheduled later, so a ticket's events stay in order.
RETRY_PRIORITY = 1
_jobs = JobManager(PsycopgConnector())


@dataclass(frozen=True)
class DeliveryJob:
    delivery_id: uuid.UUID
    integration_id: uuid.UUID
    ticket_id: str

    @property
    def lock(self) -> str:
        """One ticket's events reach one integration one at a time, in the order they were deferred."""
        return f"delivery:{self.integration_id}:{self.ticket_id}"

    def args(self, attempt: int | None = None) -> JSONDict:
        """The `deliver` task's arguments; the intake's jobs name no attempt (the task's default: 1)."""
        if attempt is None:
            return {"delivery_id": str(self.delivery_id)}
        return {"delivery_id": str(self.delivery_id), "attempt": attempt}

    def args_json(self, attempt: int | None = None) -> str:
        return json.dumps(self.args(attempt))


def installs_queue() -> str:
    """The queue of a first install's details jobs (INSTALLS_QUEUE; `installs` unless set)."""
    return get_settings().installs_queue


def defer_jobs_sql(rows: str, *, queue: str | None = DELIVERIES_QUEUE, task: str = DELIVER_TASK) -> str:
    """An SQL expression queueing one `task` job (a `deliver` one unless told) per row of the query `rows`
    (columns `priority`, `lock`, `args` jsonb, `scheduled_at`; `queue` when `queue` is None) with
    procrastinate's `procrastinate_defer_jobs_v1`, what its connector calls: for a statement that stores
    rows and queues their jobs at once. It is a function call, so the statement must use its value (the
    new job ids) for it to run."""
    queue_name = "job.queue" if queue is None else f"'{queue}'"
    job = f"{queue_name}, '{task}', job.priority, job.lock, NULL, job.args, job.scheduled_at"
    return f"""procrastinate_defer_jobs_v1(ARRAY(
        SELECT ROW({job})::procrastinate_job_to_defer_v1 FROM ({rows}) AS job))"""  # noqa: S608 (constants)


async def defer_deliveries(session: AsyncSession, jobs: Sequence[DeliveryJob]) -> list[int]:
    """Queue one `deliver` job per delivery inside the session's transaction; their procrastinate ids."""
    if not jobs:
        return []
    deferred = await _jobs.batch_defer_jobs_async(
        [
            Job(
                id=None,
                queue=DELIVERIES_QUEUE,
                task_name=DELIVER_TASK,
                lock=job.lock,
                queueing_lock=None,
                task_kwargs=job.args(),
            )
            for job in jobs
        ],
        connection=await driver(session),
    )
    return [job.id for job in deferred if job.id is not None]


async def defer_retry(session: AsyncSession, job: DeliveryJob, *, attempt: int, at: datetime) -> int:
    """Queue attempt number `attempt` of a delivery for `at`, inside the session's transaction; its job id.

    The job names its attempt, so a job run twice (its worker died after recording) does not send twice.
    """
    deferred = await _jobs.defer_job_async(
        Job(
            id=None,
            queue=DELIVERIES_QUEUE,
            task_name=DELIVER_TASK,
            lock=job.lock,
            queueing_lock=None,
            priority=RETRY_PRIORITY,
            scheduled_at=at,
            task_kwargs=job.args(attempt),
        ),
        connection=await driver(session),
    )
    assert deferred.id is not None
    return deferred.id


async def defer_notice(
    session: AsyncSession, *, tenant_id: uuid.UUID, integration_id: uuid.UUID, text: str
) -> int:
    """Queue one `notify` job inside the session's transaction; its job id.

    Under the tenant's lock: procrastinate runs no job while another with the same lock is running or was
    queued before it, so a tenant's admins are told of transitions in the order they happened.
    """
    deferred = await _jobs.defer_job_async(
        Job(
            id=None,
            queue=DELIVERIES_QUEUE,
            task_name=NOTIFY_TASK,
            lock=f"{NOTIFY_LOCK_PREFIX}{tenant_id}",
            queueing_lock=None,
            task_kwargs={"tenant_id": str(tenant_id), "integration_id": str(integration_id), "text": text},
        ),
        connection=await driver(session),
    )
    assert deferred.id is not None
    return deferred.id


async def defer_health_jobs(
    session: AsyncSession, task: str, due: Sequence[tuple[uuid.UUID, datetime]]
) -> int:
    """Queue one `task` job (a check or a refresh) per integration for its time, inside the session's
    transaction, each under the integration's queueing lock; how many. The caller left out integrations
    that have one queued already."""
    if not due:
        return 0
    prefix = CHECK_LOCK_PREFIX if task == CHECK_TASK else REFRESH_LOCK_PREFIX
    deferred = await _jobs.batch_defer_jobs_async(
        [
            Job(
                id=None,
                queue=HEALTH_QUEUE,
                task_name=task,
                lock=None,
                queueing_lock=f"{prefix}{integration_id}",
                priority=HEALTH_PRIORITY,
                scheduled_at=at,
                task_kwargs={"integration_id": str(integration_id)},
            )
            for integration_id, at in due
        ],
        connection=await driver(session),
    )
    return len(deferred)


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's filter: procrastinate's tables are its schema's business, not our models'."""
    return not (type_ == "table" and (name or "").startswith(JOB_QUEUE_PREFIX))


@dataclass(frozen=True)
class QueueLoad:
    """Jobs of one queue in one status (`todo`: waiting, scheduled ones included; `doing`: running)."""

    queue: str
    status: str
    jobs: int
    oldest_seconds: float  # since the oldest of them was due (deferred, or its scheduled time): 0 if none


# One pass over the waiting and running jobs. A job's age counts from its scheduled time, or from when it
# was deferred (its `deferred` event, read only for the lowest id per group); jobs scheduled later are
# counted but have no age yet.
_QUEUE_LOAD = text(
    """
    WITH groups AS (
        SELECT queue_name, status::text AS status, count(*) AS jobs,
               min(id) FILTER (WHERE scheduled_at IS NULL) AS first_unscheduled,
               min(scheduled_at) FILTER (WHERE scheduled_at <= now()) AS first_due
        FROM procrastinate_jobs WHERE status IN ('todo', 'doing') GROUP BY queue_name, status
    )
    SELECT queue_name, status, jobs,
           coalesce(extract(epoch FROM now() - least(first_due, (
               SELECT min(at) FROM procrastinate_events
               WHERE job_id = first_unscheduled AND type = 'deferred'))), 0)::float8 AS oldest_seconds
    FROM groups
    """
)


async def queue_load(session: AsyncSession) -> list[QueueLoad]:
    """How many jobs wait and run per queue, and how long the oldest has been due (known queues are
    listed with zeros when empty, so their series never vanish)."""
    found = {
        (row.queue_name, row.status): QueueLoad(
            row.queue_name, row.status, row.jobs, max(row.oldest_seconds, 0)
        )
        for row in (await session.execute(_QUEUE_LOAD)).all()
    }
    for queue in (DELIVERIES_QUEUE, HEALTH_QUEUE, installs_queue(), MAINTENANCE_QUEUE):
        for status in ("todo", "doing"):
            found.setdefault((queue, status), QueueLoad(queue, status, 0, 0.0))
    return sorted(found.values(), key=lambda load: (load.queue, load.status))


async def defer_install_details(
    session: AsyncSession, *, tenant_id: uuid.UUID, project_id: uuid.UUID, integration_id: uuid.UUID
) -> None:
    """Queue the `install_details` job of a row saved by the general path, inside the session's transaction
    (the first-install statement queues its own: `installs.insert_first`). Its args are the row's ids."""
    await _jobs.defer_job_async(
        Job(
            id=None,
            queue=installs_queue(),
            priority=INSTALL_DETAILS_PRIORITY,
            task_name=INSTALL_DETAILS_TASK,
            lock=None,
            queueing_lock=None,
            task_kwargs={
                "tenant_id": str(tenant_id),
                "project_id": str(project_id),
                "integration_id": str(integration_id),
            },
        ),
        connection=await driver(session),
    )


async def defer_replacement_expiry(session: AsyncSession, handle: str, *, at: datetime) -> None:
    """Queue the job that drops a held replacement at `at` if nobody decided (and revokes its tokens)."""
    await _jobs.defer_job_async(
        Job(
            id=None,
            queue=MAINTENANCE_QUEUE,
            task_name=EXPIRE_REPLACEMENT_TASK,
            lock=None,
            queueing_lock=None,
            scheduled_at=at,
            task_kwargs={"handle": handle},
        ),
        connection=await driver(session),
    )
