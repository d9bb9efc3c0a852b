"""The delivery log's SQL: deliveries of a project with their event, one delivery's attempts, what a
resend needs, and the retention cleanup. Every read filters by tenant and project."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from tms_console.domain.ticket_events import DeliveryStatus
from tms_console.persistence.models import Delivery, DeliveryAttempt, ProjectIntegration, TicketEvent

SUBJECT_CHARS = 200
SETTLED = (DeliveryStatus.DELIVERED.value, DeliveryStatus.FAILED.value)
UNSETTLED = (DeliveryStatus.PENDING.value, DeliveryStatus.PAUSED.value)


@dataclass(frozen=True)
class LogFilter:
    """Which deliveries to list; None leaves a filter out. `until` is exclusive."""

    integration_type: str | None = None
    status: str | None = None
    event_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class LogRow:
    """A delivery with what the log shows of its event (the ticket's number and subject, bounded)."""

    delivery: Delivery
    event_type: str
    event_id: str
    ticket_number: str
    ticket_subject: str


def _ticket(field: str, chars: int) -> Any:
    return sa.func.left(sa.func.coalesce(col(TicketEvent.payload)["ticket"][field].astext, ""), chars)


def _rows_query(tenant_id: uuid.UUID, project_id: uuid.UUID) -> Any:
    return (
        sa.select(
            Delivery,
            col(TicketEvent.type),
            col(TicketEvent.event_id),
            _ticket("number", 40),
            _ticket("subject", SUBJECT_CHARS),
        )
        .join(TicketEvent, col(TicketEvent.id) == col(Delivery.ticket_event_id))
        .where(col(Delivery.tenant_id) == tenant_id, col(Delivery.project_id) == project_id)
    )


def _filtered(query: Any, where: LogFilter) -> Any:
    conditions = [
        (where.integration_type, lambda v: col(Delivery.integration_type) == v),
        (where.status, lambda v: col(Delivery.status) == v),
        (where.event_type, lambda v: col(TicketEvent.type) == v),
        (where.since, lambda v: col(Delivery.created_at) >= v),
        (where.until, lambda v: col(Delivery.created_at) < v),
    ]
    for value, condition in conditions:
        if value is not None:
            query = query.where(condition(value))
    return query


async def list_deliveries(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    project_id: uuid.UUID,
    where: LogFilter,
    offset: int,
    limit: int,
) -> tuple[list[LogRow], int]:
    """One page of the project's deliveries, newest first, and how many match in all."""
    query = _filtered(_rows_query(tenant_id, project_id), where)
    page = (
        query.order_by(col(Delivery.created_at).desc(), col(Delivery.id).desc()).offset(offset).limit(limit)
    )
    rows = [LogRow(*row) for row in (await session.execute(page)).all()]
    total = (await session.execute(select(sa.func.count()).select_from(query.subquery()))).scalar_one()
    return rows, int(total)


async def get_delivery(
    session: AsyncSession, *, tenant_id: uuid.UUID, project_id: uuid.UUID, delivery_id: uuid.UUID
) -> LogRow | None:
    query = _rows_query(tenant_id, project_id).where(col(Delivery.id) == delivery_id)
    row = (await session.execute(query)).first()
    return LogRow(*row) if row else None


async def attempts(session: AsyncSession, *, delivery_id: uuid.UUID) -> Sequence[DeliveryAttempt]:
    query = (
        select(DeliveryAttempt)
        .where(col(DeliveryAttempt.delivery_id) == delivery_id)
        .order_by(col(DeliveryAttempt.attempt))
    )
    return (await session.execute(query)).scalars().all()


async def integration_by_id(
    session: AsyncSession, *, tenant_id: uuid.UUID, project_id: uuid.UUID, integration_id: uuid.UUID
) -> ProjectIntegration | None:
    """The project's integration row, locked until the transaction ends (resends of one integration
    queue one at a time, so two of them never both see "nothing pending")."""
    query = select(ProjectIntegration).where(
        col(ProjectIntegration.id) == integration_id,
        col(ProjectIntegration.tenant_id) == tenant_id,
        col(ProjectIntegration.project_id) == project_id,
    )
    return (await session.execute(query.with_for_update())).scalar_one_or_none()


async def unsettled_exists(
    session: AsyncSession, *, ticket_event_id: uuid.UUID, integration_id: uuid.UUID
) -> bool:
    """Whether this event already has a pending or paused delivery to this integration."""
    query = select(sa.literal(1)).where(
        col(Delivery.ticket_event_id) == ticket_event_id,
        col(Delivery.integration_id) == integration_id,
        col(Delivery.status).in_(UNSETTLED),
    )
    return (await session.execute(query.limit(1))).first() is not None


async def latest_failed(
    session: AsyncSession, *, integration_id: uuid.UUID, since: datetime, limit: int
) -> list[tuple[Delivery, str]]:
    """The integration's events whose latest delivery failed and was created since `since`, oldest event
    first, with their tickets' ids; at most `limit`. An event already resent counts by its resend."""
    newer = aliased(Delivery)
    superseded = select(sa.literal(1)).where(
        col(newer.ticket_event_id) == col(Delivery.ticket_event_id),
        col(newer.integration_id) == col(Delivery.integration_id),
        col(newer.created_at) > col(Delivery.created_at),
    )
    query = (
        select(Delivery, col(TicketEvent.payload)["ticket"]["id"].astext)
        .join(TicketEvent, col(TicketEvent.id) == col(Delivery.ticket_event_id))
        .where(
            col(Delivery.integration_id) == integration_id,
            col(Delivery.status) == DeliveryStatus.FAILED.value,
            ~superseded.exists(),
            col(Delivery.created_at) >= since,
        )
        .order_by(col(TicketEvent.received_at), col(Delivery.created_at))
        .limit(limit)
    )
    return [(delivery, str(ticket_id)) for delivery, ticket_id in (await session.execute(query)).all()]


async def purge_settled_events(session: AsyncSession, *, cutoff: datetime, batch: int) -> int:
    """Delete up to `batch` ticket events received before `cutoff` whose deliveries are all settled and
    none touched since `cutoff` (deliveries and attempts cascade); how many. Rows other transactions
    hold are skipped, not waited for.

    Not tenant-scoped: the retention job works on every tenant's log alike.
    """
    busy = select(sa.literal(1)).where(
        col(Delivery.ticket_event_id) == col(TicketEvent.id),
        sa.or_(col(Delivery.status).not_in(SETTLED), col(Delivery.updated_at) >= cutoff),
    )
    doomed = (
        select(TicketEvent.id)
        .where(col(TicketEvent.received_at) < cutoff, ~busy.exists())
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(
        sa.delete(TicketEvent).where(col(TicketEvent.id).in_(doomed.scalar_subquery()))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
