"""Ticket events and their deliveries: tenant-scoped SQL for the intake.

The intake is two statements: who receives the event (the project's integrations and matching REST
hooks, and whether the project is the tenant's at all), then the event, its deliveries and their jobs in
one statement, so they are stored together or not at all even without a transaction around them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from psycopg.types.json import Jsonb
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from tms_console.domain.ticket_events import REST_HOOK
from tms_console.persistence.job_queue import DeliveryJob, defer_jobs_sql
from tms_console.persistence.models import Delivery, TicketEvent
from tms_console.persistence.rest_hooks import ALL_EVENTS


@dataclass(frozen=True)
class Recipient:
    """What may receive a project's event: an integration, or a REST hook subscribed to its type (Zapier,
    Make; `integration_type` REST_HOOK, its `meta` empty)."""

    id: uuid.UUID
    integration_type: str
    status: str
    meta: dict[str, Any]

    @property
    def is_hook(self) -> bool:
        return self.integration_type == REST_HOOK


async def recipients(
    session: AsyncSession, *, tenant_id: uuid.UUID, project_id: uuid.UUID, event_type: str
) -> list[Recipient] | None:
    """The project's integrations, then its REST hooks subscribed to `event_type` (each oldest first, so
    deliveries are listed stably), in one query; None when the tenant has no such project."""
    params = {"tenant_id": tenant_id, "project_id": project_id, "event_type": event_type}
    connection = await session.connection()
    rows: Sequence[Any] = (await connection.exec_driver_sql(_RECIPIENTS, params)).all()
    if not rows:
        return None
    return [Recipient(row[0], row[1], row[2], row[3] or {}) for row in rows if row[0] is not None]


_RECIPIENTS = f"""SELECT r.id, r.integration_type, r.status, r.meta
FROM projects AS p LEFT JOIN LATERAL (
    SELECT 0 AS rank, id, integration_type, status, meta, created_at FROM project_integrations
    WHERE tenant_id = p.tenant_id AND project_id = p.id
    UNION ALL
    SELECT 1, id, '{REST_HOOK}', '', NULL, created_at FROM rest_hooks
    WHERE tenant_id = p.tenant_id AND project_id = p.id AND event IN (%(event_type)s, '{ALL_EVENTS}')
) AS r ON true
WHERE p.id = %(project_id)s AND p.tenant_id = %(tenant_id)s
ORDER BY r.rank, r.created_at, r.id"""  # noqa: S608 (constants; values are parameters)


@dataclass(frozen=True)
class NewEvent:
    tenant_id: uuid.UUID
    project_id: uuid.UUID
    event_id: str
    type: str
    ticket_id: str
    payload: dict[str, Any]
    answer: dict[str, Any]


async def store_event(session: AsyncSession, event: NewEvent, recipients: Sequence[Recipient]) -> bool:
    """Store the event, one delivery per recipient and their `deliver` jobs in one statement; or nothing,
    when the tenant already has this event id (False).

    A concurrent insert of the same id waits for the other one: exactly one of them stores it.
    """
    jobs = [DeliveryJob(uuid.uuid4(), recipient.id, event.ticket_id) for recipient in recipients]
    params = {
        "id": uuid.uuid4(),
        "tenant_id": event.tenant_id,
        "project_id": event.project_id,
        "event_id": event.event_id,
        "type": event.type,
        "payload": Jsonb(event.payload),
        "answer": Jsonb(event.answer),
        "ids": [job.delivery_id for job in jobs],
        "integration_ids": [job.integration_id for job in jobs],
        "types": [recipient.integration_type for recipient in recipients],
        "locks": [job.lock for job in jobs],
        "args": [job.args_json() for job in jobs],
    }
    connection = await session.connection()
    row = (await connection.exec_driver_sql(_STORE_EVENT, params)).one()
    return row[0] is not None


_JOBS = """SELECT 0 AS priority, job.lock, job.args::jsonb AS args, NULL::timestamptz AS scheduled_at
    FROM stored, unnest(%(locks)s::text[], %(args)s::text[]) AS job(lock, args)"""
_STORE_EVENT = f"""WITH stored AS (
    INSERT INTO ticket_events (id, tenant_id, project_id, event_id, type, payload, answer)
    VALUES (%(id)s, %(tenant_id)s, %(project_id)s, %(event_id)s, %(type)s, %(payload)s, %(answer)s)
    ON CONFLICT ON CONSTRAINT ticket_events_tenant_event_key DO NOTHING
    RETURNING id
), delivery AS (
    INSERT INTO deliveries (id, ticket_event_id, tenant_id, project_id, integration_id, integration_type)
    SELECT d.id, stored.id, %(tenant_id)s, %(project_id)s, d.integration_id, d.integration_type
    FROM stored, unnest(%(ids)s::uuid[], %(integration_ids)s::uuid[], %(types)s::varchar[])
        AS d(id, integration_id, integration_type)
)
SELECT (SELECT id FROM stored), {defer_jobs_sql(_JOBS)}"""  # noqa: S608 (constants; values are parameters)


async def find_event(session: AsyncSession, *, tenant_id: uuid.UUID, event_id: str) -> TicketEvent | None:
    result = await session.execute(
        select(TicketEvent).where(TicketEvent.tenant_id == tenant_id, TicketEvent.event_id == event_id)
    )
    return result.scalar_one_or_none()


async def add_deliveries(session: AsyncSession, deliveries: Sequence[Delivery]) -> None:
    """Insert new deliveries in one multi-row Core INSERT (the objects are not added to the session)."""
    if not deliveries:
        return
    table = Delivery.__table__  # type: ignore[attr-defined]
    rows = [
        {column.name: getattr(delivery, column.name) for column in table.columns} for delivery in deliveries
    ]
    await session.execute(sa.insert(table).values(rows))
