"""Tenancy rules: an identity reaches only its own tenant's projects."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from tms_console.domain.errors import NotFound
from tms_console.domain.reasons import Reason
from tms_console.persistence import repository
from tms_console.persistence.models import Project
from tms_console.security.identity import Identity
from tms_console.services.unit_of_work import one_statement


def parse_uuid(value: str | uuid.UUID) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise NotFound(Reason.NOT_FOUND, "not found") from None


async def require_project(session: AsyncSession, identity: Identity, project_id: str | uuid.UUID) -> Project:
    """The project, if it belongs to the identity's tenant; otherwise the same 404 as missing."""
    project = await repository.get_project(
        session, tenant_id=identity.tenant_id, project_id=parse_uuid(project_id)
    )
    if project is None:
        raise NotFound(Reason.NOT_FOUND, "not found")
    return project


async def require_project_installed(
    identity: Identity, project_id: str | uuid.UUID, integration_type: str
) -> tuple[uuid.UUID, uuid.UUID | None]:
    """The project's id, if it belongs to the identity's tenant (else the same 404 as missing), with
    the id of its integration of this type, if installed. One read, outside any transaction."""
    project = parse_uuid(project_id)
    async with one_statement() as connection:
        found = await repository.installed_in_project(
            connection, tenant_id=identity.tenant_id, project_id=project, integration_type=integration_type
        )
    if found is None:
        raise NotFound(Reason.NOT_FOUND, "not found")
    return found


def require_tenant(identity: Identity, tenant_id: str | uuid.UUID) -> None:
    """A tenant in a URL must be the token's own; another tenant looks exactly like a missing one."""
    if parse_uuid(tenant_id) != identity.tenant_id:
        raise NotFound(Reason.NOT_FOUND, "not found")
