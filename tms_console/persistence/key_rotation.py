"""Key rotation's queries: the only ones that span tenants on purpose (an operator tool sees every row)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from tms_console.domain.ticket_events import REST_HOOK
from tms_console.domain.values import Sealed
from tms_console.persistence.models import IntegrationCredential, ProjectIntegration, RestHook


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
    """Key rotation only: sealed rows of every tenant (integration credentials and REST hook targets),
    in id order, `limit` rows after `after`.

    The one query that spans tenants on purpose: the re-encrypt command is an operator tool that
    must see every row. `not_key_id` keeps only rows still under another (older) key.
    """
    credentials: sa.Select[*tuple[Any, ...]] = sa.select(
        col(IntegrationCredential.integration_id).label("row_id"),
        col(ProjectIntegration.tenant_id),
        col(ProjectIntegration.project_id),
        col(ProjectIntegration.integration_type),
        col(IntegrationCredential.key_id),
        col(IntegrationCredential.nonce),
        col(IntegrationCredential.ciphertext),
    ).join(ProjectIntegration, col(ProjectIntegration.id) == col(IntegrationCredential.integration_id))
    hooks: sa.Select[*tuple[Any, ...]] = sa.select(
        col(RestHook.id).label("row_id"),
        col(RestHook.tenant_id),
        col(RestHook.project_id),
        sa.literal(REST_HOOK, sa.String(50)).label("integration_type"),
        col(RestHook.key_id),
        col(RestHook.nonce),
        col(RestHook.ciphertext),
    )
    sealed = sa.union_all(credentials, hooks).subquery()
    statement = sa.select(sealed).order_by(sealed.c.row_id).limit(limit)
    if after is not None:
        statement = statement.where(sealed.c.row_id > after)
    if not_key_id is not None:
        statement = statement.where(sealed.c.key_id != not_key_id)
    rows = (await session.execute(statement)).all()
    return [
        StoredCredential(row[0], row[1], row[2], row[3], Sealed(row[4], bytes(row[5]), bytes(row[6])))
        for row in rows
    ]


async def replace_sealed(
    session: AsyncSession, *, integration_id: uuid.UUID, old: Sealed, new: Sealed
) -> bool:
    """Swap one row's ciphertext (a credential's, or a REST hook's) only if it still holds exactly `old`.

    The guard means a concurrent install (or a second rotation run) that rewrote the row in the
    meantime is never overwritten with stale secrets. `updated_at` is kept: the secret is unchanged.
    """
    swapped = 0
    for table, key in (
        (IntegrationCredential, IntegrationCredential.integration_id),
        (RestHook, RestHook.id),
    ):
        result = await session.execute(
            sa.update(table)
            .where(
                col(key) == integration_id,
                col(table.key_id) == old.key_id,
                col(table.nonce) == old.nonce,
                col(table.ciphertext) == old.ciphertext,
            )
            .values(key_id=new.key_id, nonce=new.nonce, ciphertext=new.ciphertext)
        )
        swapped += int(getattr(result, "rowcount", 0))
    return swapped == 1
