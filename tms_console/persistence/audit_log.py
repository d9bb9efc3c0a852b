"""Reading the audit trail (`integration_events`): one tenant's events, newest first, filtered, keyset-paged.

Every query is scoped to one tenant. Keyset paging on (created_at, id) keeps a page cheap however deep,
and a CSV export walks the same pages without holding a transaction open.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from tms_console.persistence.models import IntegrationEvent, Project


@dataclass(frozen=True)
class AuditFilter:
    """Checked values only (services/audit_log.py checks what callers send)."""

    project_id: uuid.UUID | None = None
    integration_type: str | None = None
    action: str | None = None
    actor: str | None = None  # an actor id exactly, or part of an actor's name (any case)
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


@dataclass(frozen=True)
class Position:
    """Where a page ends: the last event's time and id (the next page starts after it)."""

    created_at: datetime
    id: uuid.UUID


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _conditions(
    tenant_id: uuid.UUID, where: AuditFilter, after: Position | None
) -> list[sa.ColumnElement[bool]]:
    event = IntegrationEvent
    found: list[sa.ColumnElement[bool]] = [col(event.tenant_id) == tenant_id]
    if where.project_id is not None:
        found.append(col(event.project_id) == where.project_id)
    if where.integration_type is not None:
        found.append(col(event.integration_type) == where.integration_type)
    if where.action is not None:
        found.append(col(event.action) == where.action)
    if where.actor is not None:
        found.append(
            sa.or_(col(event.actor_id) == where.actor, col(event.actor_name).ilike(_like(where.actor)))
        )
    if where.since is not None:
        found.append(col(event.created_at) >= where.since)
    if where.until is not None:
        found.append(col(event.created_at) < where.until)
    if after is not None:
        found.append(
            sa.tuple_(col(event.created_at), col(event.id))
            < sa.tuple_(sa.literal(after.created_at), after.id)
        )
    return found


async def list_events(
    session: AsyncSession, *, tenant_id: uuid.UUID, where: AuditFilter, after: Position | None, limit: int
) -> list[tuple[IntegrationEvent, str | None]]:
    """Up to `limit` events after `after`, newest first, each with its project's name (None once the
    project is gone: the trail outlives it)."""
    query = (
        select(IntegrationEvent, Project.name)
        .join(
            Project,
            sa.and_(
                col(Project.id) == col(IntegrationEvent.project_id),
                col(Project.tenant_id) == col(IntegrationEvent.tenant_id),
            ),
            isouter=True,
        )
        .where(*_conditions(tenant_id, where, after))
        .order_by(col(IntegrationEvent.created_at).desc(), col(IntegrationEvent.id).desc())
        .limit(limit)
    )
    result = await session.execute(query)
    return [(event, name) for event, name in result.all()]
