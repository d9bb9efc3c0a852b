"""Key rotation's queries: the only ones that span tenants on purpose (an operator tool sees every row)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from tms_console.domain.values import Sealed
from tms_console.persistence.models import IntegrationCredential, ProjectIntegration


@dataclass(frozen=True)
class StoredCredential:
    """One credential row with what its AAD names (tenant, project, type, row id)."""

    integration_id: uuid.UUID
    tenant_id: uuid.UUID
    project_id: uuid.UUID
    integration_type: str
    sealed: Sealed


async def credentials_page(
    session: AsyncSession, *, after: uuid.UUID | None, limit: int, not_key_id: str | None = None
) -> list[StoredCredential]:
    """Key rotation only: credentials of every tenant, in id order, `limit` rows after `after`.

    The one query that spans tenants on purpose: the re-encrypt command is an operator tool that
    must see every row. `not_key_id` keeps only rows still under another (older) key.
    """
    statement = (
        sa.select(
            col(IntegrationCredential.integration_id),
            col(ProjectIntegration.tenant_id),
            col(ProjectIntegration.project_id),
            col(ProjectIntegration.integration_type),
            col(IntegrationCredential.key_id),
            col(IntegrationCredential.nonce),
            col(IntegrationCredential.ciphertext),
        )
        .join(ProjectIntegration, col(ProjectIntegration.id) == col(IntegrationCredential.integration_id))
        .order_by(col(IntegrationCredential.integration_id))
        .limit(limit)
    )
    if after is not None:
        statement = statement.where(col(IntegrationCredential.integration_id) > after)
    if not_key_id is not None:
        statement = statement.where(col(IntegrationCredential.key_id) != not_key_id)
    rows = (await session.execute(statement)).all()
    return [
        StoredCredential(row[0], row[1], row[2], row[3], Sealed(row[4], bytes(row[5]), bytes(row[6])))
        for row in rows
    ]


async def replace_sealed(
    session: AsyncSession, *, integration_id: uuid.UUID, old: Sealed, new: Sealed
) -> bool:
    """Swap one row's ciphertext only if it still holds exactly `old`.

    The guard means a concurrent install (or a second rotation run) that rewrote the row in the
    meantime is never overwritten with stale secrets. `updated_at` is kept: the secret is unchanged.
    """
    result = await session.execute(
        sa.update(IntegrationCredential)
        .where(
            col(IntegrationCredential.integration_id) == integration_id,
            col(IntegrationCredential.key_id) == old.key_id,
            col(IntegrationCredential.nonce) == old.nonce,
            col(IntegrationCredential.ciphertext) == old.ciphertext,
        )
        .values(key_id=new.key_id, nonce=new.nonce, ciphertext=new.ciphertext)
    )
    return bool(getattr(result, "rowcount", 0) == 1)
