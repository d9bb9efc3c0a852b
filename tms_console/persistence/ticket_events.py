"""Ticket events and their deliveries: tenant-scoped SQL for the intake."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from tms_console.persistence.models import Delivery, ProjectIntegration, TicketEvent


async def project_integrations(
    session: AsyncSession, *, tenant_id: uuid.UUID, project_id: uuid.UUID
) -> Sequence[ProjectIntegration]:
    """Every integration installed in the project, oldest first (so deliveries are listed stably)."""
    result = await session.execute(
        select(ProjectIntegration)
        .where(ProjectIntegration.tenant_id == tenant_id, ProjectIntegration.project_id == project_id)
        .order_by(col(ProjectIntegration.created_at), col(ProjectIntegration.id))
    )
    return result.scalars().all()


async def claim_event(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    project_id: uuid.UUID,
    event_id: str,
    event_type: str,
    payload: dict[str, Any],
    answer: dict[str, Any],
) -> uuid.UUID | None:
    """Store the event, or do nothing when the tenant already has this event id; the new row's id or None.

    A concurrent insert of the same id waits for the other transaction: exactly one of them stores it.
    """
    row_id = uuid.uuid4()
    statement = (
        insert(TicketEvent)
        .values(
            id=row_id,
            tenant_id=tenant_id,
            project_id=project_id,
            event_id=event_id,
            type=event_type,
            payload=payload,
            answer=answer,
        )
        .on_conflict_do_nothing(constraint="ticket_events_tenant_event_key")
        .returning(col(TicketEvent.id))
    )
    return (await session.execute(statement)).scalar_one_or_none()


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
