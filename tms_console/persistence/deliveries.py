"""The delivery step's SQL: a delivery with what sending it needs, and recording its attempts."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from tms_console.domain.ticket_events import REST_HOOK, DeliveryStatus
from tms_console.persistence.delivery_health import upsert_from
from tms_console.persistence.job_queue import RETRY_PRIORITY, DeliveryJob, defer_jobs_sql
from tms_console.persistence.models import (
    Delivery,
    IntegrationCredential,
    ProjectIntegration,
    RestHook,
    TicketEvent,
    TicketThread,
)


@dataclass
class DeliveryRecord:
    """A delivery, its event, and its recipient: an integration with credentials (None when uninstalled
    since), or for a REST hook delivery the hook (None when unsubscribed since)."""

    delivery: Delivery
    event: TicketEvent
    integration: ProjectIntegration | None
    credential: IntegrationCredential | None
    hook: RestHook | None = None
    thread_handle: str = ""  # the ticket's first message at this integration


async def load(session: AsyncSession, delivery_id: uuid.UUID, *, lock: bool = False) -> DeliveryRecord | None:
    """The delivery and what sending it needs (recipient, credentials, the ticket's thread handle at this
    integration), in one query; `lock` holds the delivery row (only it) until the transaction ends."""
    row = (await session.execute(_load_query(lock=lock), {"delivery_id": delivery_id})).one_or_none()
    if row is None:
        return None  # the foreign key cascades: a delivery never outlives its event
    delivery, event, integration, credential, hook, thread_handle = row
    if delivery.integration_type == REST_HOOK:
        return DeliveryRecord(delivery, event, None, None, hook)
    return DeliveryRecord(
        delivery, event, integration, credential if integration else None, thread_handle=thread_handle
    )


@functools.cache
def _load_query(
    *, lock: bool
) -> sa.Select[Delivery, TicketEvent, ProjectIntegration, IntegrationCredential, RestHook, str]:
    """`load`'s query, built once per variant (building it cost about as much as running it): the
    delivery's id is a bound parameter. A REST hook delivery names its hook where others name their
    integration."""
    query = (
        sa.select(
            Delivery,
            TicketEvent,
            ProjectIntegration,
            IntegrationCredential,
            RestHook,
            sa.func.coalesce(col(TicketThread.handle), ""),
        )
        .join(TicketEvent, col(TicketEvent.id) == col(Delivery.ticket_event_id))
        .outerjoin(ProjectIntegration, col(ProjectIntegration.id) == col(Delivery.integration_id))
        .outerjoin(
            IntegrationCredential,
            col(IntegrationCredential.integration_id) == col(ProjectIntegration.id),
        )
        .outerjoin(
            RestHook,
            sa.and_(
                col(RestHook.id) == col(Delivery.integration_id), col(Delivery.integration_type) == REST_HOOK
            ),
        )
        .outerjoin(
            TicketThread,
            sa.and_(
                col(TicketThread.integration_id) == col(ProjectIntegration.id),
                col(TicketThread.ticket_id) == col(TicketEvent.payload)["ticket"]["id"].astext,
            ),
        )
        .where(col(Delivery.id) == sa.bindparam("delivery_id", type_=sa.Uuid))
    )
    return query.with_for_update(of=Delivery) if lock else query


@dataclass(frozen=True)
class AttemptRecord:
    """What recording attempt `number` of a delivery writes: the delivery's new columns (`changes`: every
    one of SETTLED_COLUMNS), the attempt's log row (`log`: its columns but ids and number), and what
    follows it: the ticket's first thread handle (ticket id, handle), the integration's health
    (`delivery_health.values`), the job of the next attempt."""

    delivery_id: uuid.UUID
    number: int
    changes: Mapping[str, object]
    log: Mapping[str, object]
    thread: tuple[str, str] | None = None
    health: Mapping[str, object] | None = None
    retry: DeliveryJob | None = None


SETTLED_COLUMNS = ("status", "updated_at", "next_attempt_at", "last_reason", "delivered_at")


async def record_attempt(session: AsyncSession, attempt: AttemptRecord) -> bool:
    """Record an attempt and what follows it in one statement, when the delivery is still pending with
    `number - 1` attempts recorded (no lock needed: the guard is part of the UPDATE, and when it matches
    no row the statement writes nothing); whether it was recorded. Alone in autocommit, that one
    statement is the whole transaction."""
    params: dict[str, object] = {
        "delivery_id": attempt.delivery_id,
        "attempts": attempt.number,
        "attempt_id": uuid.uuid4(),
        **{name: attempt.changes[name] for name in SETTLED_COLUMNS},
        **{f"log_{name}": value for name, value in attempt.log.items()},
        "ticket_id": attempt.thread[0] if attempt.thread else None,
        "thread_handle": attempt.thread[1] if attempt.thread else None,
        **(attempt.health or {"health_at": None, "health_status": None, "health_reason": None}),
        "retry_priority": RETRY_PRIORITY,
        "retry_lock": attempt.retry.lock if attempt.retry else None,
        "retry_args": attempt.retry.args_json(attempt.number + 1) if attempt.retry else None,
    }
    connection = await session.connection()
    row = (await connection.exec_driver_sql(_RECORD_ATTEMPT, params)).one()
    return bool(row[0])


LOG_COLUMNS = ("started_at", "duration_ms", "outcome", "http_status", "reason", "retry_after", "detail")
_NEXT_JOB = """SELECT %(retry_priority)s::int AS priority, %(retry_lock)s::text AS lock,
    %(retry_args)s::jsonb AS args, %(next_attempt_at)s::timestamptz AS scheduled_at
    FROM settled WHERE %(retry_args)s::text IS NOT NULL"""
_HEALTH_SOURCE = """settled JOIN project_integrations AS pi ON pi.id = settled.integration_id
    WHERE %(health_status)s::varchar IS NOT NULL FOR KEY SHARE OF pi"""
_RECORD_ATTEMPT = f"""WITH settled AS (
    UPDATE deliveries SET status = %(status)s, attempts = %(attempts)s, updated_at = %(updated_at)s,
        next_attempt_at = %(next_attempt_at)s, last_reason = %(last_reason)s,
        delivered_at = COALESCE(%(delivered_at)s::timestamptz, delivered_at)
    WHERE id = %(delivery_id)s AND status = '{DeliveryStatus.PENDING.value}' AND attempts = %(attempts)s - 1
    RETURNING id, integration_id
), logged AS (
    INSERT INTO delivery_attempts (id, delivery_id, attempt, next_attempt_at, {", ".join(LOG_COLUMNS)})
    SELECT %(attempt_id)s, id, %(attempts)s, %(next_attempt_at)s,
        {", ".join(f"%(log_{name})s" for name in LOG_COLUMNS)} FROM settled
), thread AS (
    INSERT INTO ticket_threads (integration_id, ticket_id, handle)
    SELECT integration_id, %(ticket_id)s, %(thread_handle)s FROM settled
    WHERE %(thread_handle)s::varchar IS NOT NULL
    ON CONFLICT DO NOTHING
), health AS (
    {upsert_from(_HEALTH_SOURCE)}
), queued AS (
    SELECT {defer_jobs_sql(_NEXT_JOB)} AS ids
)
SELECT (SELECT count(*) FROM settled), (SELECT ids FROM queued)"""  # noqa: S608 (constants; values: parameters)


async def paused(session: AsyncSession, *, integration_id: uuid.UUID) -> list[tuple[Delivery, str]]:
    """An integration's paused deliveries, locked, with their tickets' ids; oldest event first."""
    query = (
        select(Delivery, TicketEvent.payload)
        .join(TicketEvent, col(TicketEvent.id) == col(Delivery.ticket_event_id))
        .where(
            col(Delivery.integration_id) == integration_id,
            col(Delivery.status) == DeliveryStatus.PAUSED.value,
        )
        .order_by(col(TicketEvent.received_at), col(Delivery.created_at))
        .with_for_update(of=Delivery)
    )
    rows = (await session.execute(query)).all()
    return [(delivery, str(payload["ticket"]["id"])) for delivery, payload in rows]
