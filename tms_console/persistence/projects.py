"""Project lookups that are not scoped to a tenant, each for an operator's command (see its docstring)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from tms_console.persistence.models import Project


async def project_tenant(session: AsyncSession, *, project_id: uuid.UUID) -> uuid.UUID | None:
    """The tenant a project belongs to, or None. Not tenant-scoped on purpose: the dev-only `emit-event`
    command runs as an operator with database access, who names a project and no tenant."""
    result = await session.execute(select(Project.tenant_id).where(Project.id == project_id))
    return result.scalar_one_or_none()
