"""A tenant's console settings: which of its own integrations tells its admins that another needs care."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from tms_console.persistence.models import (
    IntegrationCredential,
    Project,
    ProjectIntegration,
    TenantSettings,
    utcnow,
)


async def notify_integration_id(session: AsyncSession, *, tenant_id: uuid.UUID) -> uuid.UUID | None:
    settings = await session.get(TenantSettings, tenant_id)
    return settings.notify_integration_id if settings else None


async def set_notify_integration(
    session: AsyncSession, *, tenant_id: uuid.UUID, integration_id: uuid.UUID | None, updated_by: str
) -> None:
    """Store the choice (None: nobody is told); the caller checked the integration is the tenant's."""
    values = {"notify_integration_id": integration_id, "updated_at": utcnow(), "updated_by": updated_by}
    statement = insert(TenantSettings).values(tenant_id=tenant_id, **values)
    await session.execute(statement.on_conflict_do_update(index_elements=["tenant_id"], set_=values))


async def integrations_of_types(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    types: Sequence[str],
    limit: int | None = None,
    only: uuid.UUID | None = None,
) -> list[tuple[ProjectIntegration, str]]:
    """The tenant's installed integrations of these types, in every project, with the project's name
    (the first `limit` by project name; `only`: just that integration)."""
    query = (
        select(ProjectIntegration, Project.name)
        .join(Project, col(Project.id) == col(ProjectIntegration.project_id))
        .where(
            col(ProjectIntegration.tenant_id) == tenant_id,
            col(Project.tenant_id) == tenant_id,
            col(ProjectIntegration.integration_type).in_(list(types)),
        )
        .order_by(col(Project.name), col(ProjectIntegration.integration_type))
        .limit(limit)
    )
    if only is not None:
        query = query.where(col(ProjectIntegration.id) == only)
    result = await session.execute(query)
    return [(row, name) for row, name in result.all()]


async def integration_with_credentials(
    session: AsyncSession, *, tenant_id: uuid.UUID, integration_id: uuid.UUID
) -> tuple[ProjectIntegration, IntegrationCredential | None] | None:
    result = await session.execute(
        select(ProjectIntegration, IntegrationCredential)
        .join(
            IntegrationCredential,
            col(IntegrationCredential.integration_id) == col(ProjectIntegration.id),
            isouter=True,
        )
        .where(col(ProjectIntegration.id) == integration_id, col(ProjectIntegration.tenant_id) == tenant_id)
    )
    row = result.first()
    return (row[0], row[1]) if row else None


async def project_name(session: AsyncSession, *, tenant_id: uuid.UUID, project_id: uuid.UUID) -> str:
    project = await session.get(Project, project_id)
    return project.name if project is not None and project.tenant_id == tenant_id else ""
