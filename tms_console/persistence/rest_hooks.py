"""REST hook subscriptions: tenant-scoped SQL (every lookup names the tenant and the project)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, or_, select

from tms_console.persistence.models import RestHook

ALL_EVENTS = "*"


async def lock_project_hooks(session: AsyncSession, *, project_id: uuid.UUID) -> None:
    """Serialise changes to one project's hooks until the transaction ends (so the cap holds under races)."""
    await session.execute(
        sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(f"rest_hooks:{project_id}")))
    )


async def count(session: AsyncSession, *, tenant_id: uuid.UUID, project_id: uuid.UUID) -> int:
    result = await session.execute(
        sa.select(sa.func.count())
        .select_from(RestHook)
        .where(col(RestHook.tenant_id) == tenant_id, col(RestHook.project_id) == project_id)
    )
    return int(result.scalar_one())


async def add(session: AsyncSession, hook: RestHook) -> None:
    session.add(hook)
    await session.flush()


async def listed(session: AsyncSession, *, tenant_id: uuid.UUID, project_id: uuid.UUID) -> Sequence[RestHook]:
    """The project's hooks, oldest first."""
    result = await session.execute(
        select(RestHook)
        .where(col(RestHook.tenant_id) == tenant_id, col(RestHook.project_id) == project_id)
        .order_by(col(RestHook.created_at), col(RestHook.id))
    )
    return result.scalars().all()


async def matching(
    session: AsyncSession, *, tenant_id: uuid.UUID, project_id: uuid.UUID, event_type: str
) -> Sequence[RestHook]:
    """The project's hooks that receive `event_type` (subscribed to it, or to every type), oldest first."""
    result = await session.execute(
        select(RestHook)
        .where(
            col(RestHook.tenant_id) == tenant_id,
            col(RestHook.project_id) == project_id,
            or_(col(RestHook.event) == event_type, col(RestHook.event) == ALL_EVENTS),
        )
        .order_by(col(RestHook.created_at), col(RestHook.id))
    )
    return result.scalars().all()


async def get(
    session: AsyncSession, *, tenant_id: uuid.UUID, project_id: uuid.UUID, hook_id: uuid.UUID
) -> RestHook | None:
    result = await session.execute(
        select(RestHook).where(
            col(RestHook.id) == hook_id,
            col(RestHook.tenant_id) == tenant_id,
            col(RestHook.project_id) == project_id,
        )
    )
    return result.scalar_one_or_none()


async def delete(session: AsyncSession, *, hook_id: uuid.UUID) -> bool:
    """Delete by id (from a tenant-scoped lookup, or a delivery's own hook); whether it was there."""
    result = await session.execute(sa.delete(RestHook).where(col(RestHook.id) == hook_id))
    return bool(getattr(result, "rowcount", 0))
