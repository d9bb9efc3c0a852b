"""TEMPORARY stand-in for the lead's lifecycle foundation (replaced by main's version on merge)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from tms_console.domain.status import IntegrationStatus
from tms_console.persistence import repository
from tms_console.persistence.models import ProjectIntegration, utcnow
from tms_console.services.unit_of_work import unit_of_work


@dataclass(frozen=True)
class Actor:
    id: str
    name: str
    ip: str | None = None
    user_agent: str | None = None


SYSTEM_HEALTH = Actor("health-check", "Health check")
SYSTEM_PROVIDER = Actor("provider", "Provider event")
SYSTEM_DELIVERY = Actor("delivery-worker", "Delivery worker")


async def transition(
    session: AsyncSession, integration_id: uuid.UUID, to: IntegrationStatus, reason: str, *, actor: Actor
) -> bool:
    row = (
        await session.execute(
            sa.select(ProjectIntegration)
            .where(col(ProjectIntegration.id) == integration_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if row is None or (row.status, row.status_reason) == (to.value, reason):
        return False
    row.status, row.status_reason, row.updated_at = to.value, reason, utcnow()
    await repository.record_event(
        session,
        tenant_id=row.tenant_id,
        project_id=row.project_id,
        integration_id=row.id,
        integration_type=row.integration_type,
        action="status_changed",
        reason=reason,
        actor_id=actor.id,
        actor_name=actor.name,
    )
    return True


async def transition_now(
    integration_id: uuid.UUID, to: IntegrationStatus, reason: str, *, actor: Actor
) -> bool:
    async with unit_of_work() as session:
        return await transition(session, integration_id, to, reason, actor=actor)
