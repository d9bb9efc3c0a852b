"""An integration's stored status: read it locked, change it (services/lifecycle.py decides when)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from tms_console.persistence.models import ProjectIntegration


@dataclass(frozen=True)
class StoredStatus:
    tenant_id: uuid.UUID
    project_id: uuid.UUID
    integration_type: str
    status: str
    reason: str | None


async def lock(session: AsyncSession, integration_id: uuid.UUID) -> StoredStatus | None:
    """The row's status, locked (FOR UPDATE) until the transaction ends; None when there is no row."""
    row = (
        await session.execute(
            sa.select(
                col(ProjectIntegration.tenant_id),
                col(ProjectIntegration.project_id),
                col(ProjectIntegration.integration_type),
                col(ProjectIntegration.status),
                col(ProjectIntegration.status_reason),
            )
            .where(col(ProjectIntegration.id) == integration_id)
            .with_for_update()
        )
    ).one_or_none()
    return None if row is None else StoredStatus(*row)


async def store(
    session: AsyncSession,
    integration_id: uuid.UUID,
    *,
    status: str,
    reason: str | None,
    changed_at: datetime | None,
    at: datetime,
) -> None:
    """Set the status and reason; `changed_at` None keeps the time the status last changed."""
    values: dict[str, object] = {"status": status, "status_reason": reason, "updated_at": at}
    if changed_at is not None:
        values["status_changed_at"] = changed_at
    await session.execute(
        sa.update(ProjectIntegration).where(col(ProjectIntegration.id) == integration_id).values(values)
    )
