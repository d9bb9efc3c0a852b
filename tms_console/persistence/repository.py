"""Tenant-scoped data functions: every query filters by tenant (and project). The only SQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from tms_console.domain.values import Sealed
from tms_console.persistence.models import (
    IntegrationCredential,
    IntegrationEvent,
    Project,
    ProjectIntegration,
    Tenant,
    User,
    utcnow,
)


async def get_project(
    session: AsyncSession, *, tenant_id: uuid.UUID, project_id: uuid.UUID
) -> Project | None:
    result = await session.execute(
        select(Project).where(Project.tenant_id == tenant_id, Project.id == project_id)
    )
    return result.scalar_one_or_none()


async def list_projects(session: AsyncSession, *, tenant_id: uuid.UUID) -> Sequence[Project]:
    result = await session.execute(
        select(Project).where(Project.tenant_id == tenant_id).order_by(col(Project.name))
    )
    return result.scalars().all()


def _with_credentials(*, tenant_id: uuid.UUID, project_id: uuid.UUID) -> Any:
    return (
        select(ProjectIntegration, IntegrationCredential)
        .join(
            IntegrationCredential,
            col(IntegrationCredential.integration_id) == col(ProjectIntegration.id),
            isouter=True,
        )
        .where(ProjectIntegration.tenant_id == tenant_id, ProjectIntegration.project_id == project_id)
    )


async def list_integrations(
    session: AsyncSession, *, tenant_id: uuid.UUID, project_id: uuid.UUID
) -> list[tuple[ProjectIntegration, IntegrationCredential | None]]:
    """The project's integrations with their credentials, in one query."""
    result = await session.execute(_with_credentials(tenant_id=tenant_id, project_id=project_id))
    return [(row, credential) for row, credential in result.all()]


async def upsert_integration(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    project_id: uuid.UUID,
    integration_type: str,
    meta: dict[str, Any],
    installed_by_id: str,
    installed_by_name: str,
    seal: Callable[[uuid.UUID], Sealed],
    expires_at: datetime | None,
) -> uuid.UUID:
    """Insert or replace the row and its credentials; the caller's transaction makes it atomic.

    `seal` gets the row id (the AAD names the row), which ON CONFLICT may resolve to an existing id.
    """
    now = utcnow()
    values = {
        "id": uuid.uuid4(),
        "tenant_id": tenant_id,
        "project_id": project_id,
        "integration_type": integration_type,
        "meta": meta,
        "status": "active",
        "status_reason": None,
        "installed_by_id": installed_by_id,
        "installed_by_name": installed_by_name,
        "created_at": now,
        "updated_at": now,
    }
    statement = insert(ProjectIntegration).values(**values)
    updated = {
        key: statement.excluded[key]
        for key in (
            "meta",
            "status",
            "status_reason",
            "installed_by_id",
            "installed_by_name",
            "updated_at",
        )
    }
    upsert = statement.on_conflict_do_update(
        constraint="project_integrations_tenant_id_project_id_integration_type_key", set_=updated
    ).returning(col(ProjectIntegration.id))
    row_id: uuid.UUID = (await session.execute(upsert)).scalar_one()
    sealed = seal(row_id)
    credentials = insert(IntegrationCredential).values(
        integration_id=row_id,
        key_id=sealed.key_id,
        nonce=sealed.nonce,
        ciphertext=sealed.ciphertext,
        expires_at=expires_at,
        updated_at=now,
    )
    credentials = credentials.on_conflict_do_update(
        index_elements=["integration_id"],
        set_={
            name: credentials.excluded[name]
            for name in ("key_id", "nonce", "ciphertext", "expires_at", "updated_at")
        },
    )
    await session.execute(credentials)
    return row_id


async def get_integration(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    project_id: uuid.UUID,
    integration_type: str,
    lock: bool = False,
) -> tuple[ProjectIntegration, IntegrationCredential | None] | None:
    """The row and its credentials; `lock` holds the row (FOR UPDATE) until the transaction ends."""
    query = _with_credentials(tenant_id=tenant_id, project_id=project_id).where(
        ProjectIntegration.integration_type == integration_type
    )
    if lock:
        query = query.with_for_update(of=ProjectIntegration)
    result = await session.execute(query)
    row = result.first()
    return (row[0], row[1]) if row else None


async def delete_integration(session: AsyncSession, *, integration_id: uuid.UUID) -> None:
    """Delete by id, as returned by a tenant-scoped lookup; credentials go with it (cascade)."""
    await session.execute(sa.delete(ProjectIntegration).where(col(ProjectIntegration.id) == integration_id))


async def record_event(session: AsyncSession, **fields: Any) -> None:
    session.add(IntegrationEvent(**fields))


async def list_users(session: AsyncSession) -> Sequence[tuple[User, Tenant]]:
    result = await session.execute(
        select(User, Tenant)
        .join(Tenant, col(Tenant.id) == col(User.tenant_id))
        .order_by(col(Tenant.name), col(User.role).desc(), col(User.name))
    )
    return [(user, tenant) for user, tenant in result.all()]


async def get_user(session: AsyncSession, *, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


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


async def update_meta(
    session: AsyncSession, *, tenant_id: uuid.UUID, integration_id: uuid.UUID, meta: dict[str, Any]
) -> bool:
    """Replace the row's shown data (a picked channel, a chat the bot joined); tenant-checked."""
    result = await session.execute(
        sa.update(ProjectIntegration)
        .where(col(ProjectIntegration.id) == integration_id, col(ProjectIntegration.tenant_id) == tenant_id)
        .values(meta=meta, updated_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def replace_credentials(
    session: AsyncSession, *, integration_id: uuid.UUID, sealed: Sealed, expires_at: datetime | None
) -> None:
    """Store refreshed tokens for a row (the row's AAD is sealed into `sealed` by the caller)."""
    await session.execute(
        sa.update(IntegrationCredential)
        .where(col(IntegrationCredential.integration_id) == integration_id)
        .values(
            key_id=sealed.key_id,
            nonce=sealed.nonce,
            ciphertext=sealed.ciphertext,
            expires_at=expires_at,
            updated_at=utcnow(),
        )
    )


async def find_by_endpoint(
    session: AsyncSession, *, integration_type: str, endpoint_id: str
) -> tuple[ProjectIntegration, IntegrationCredential | None] | None:
    """The integration a public inbound URL names (`meta.endpoint_id`, random per install).

    Deliberately not tenant-scoped: the provider calling in knows only the URL. The caller must
    authenticate the request against the row's secret before trusting or revealing anything.
    """
    result = await session.execute(
        select(ProjectIntegration, IntegrationCredential)
        .join(
            IntegrationCredential,
            col(IntegrationCredential.integration_id) == col(ProjectIntegration.id),
            isouter=True,
        )
        .where(
            ProjectIntegration.integration_type == integration_type,
            col(ProjectIntegration.meta).contains({"endpoint_id": endpoint_id}),
        )
        .with_for_update(of=ProjectIntegration)
    )
    row = result.first()
    return (row[0], row[1]) if row else None


# --- The admin overview: every project of a tenant against every provider, filtered and paged. ---

# Display fields an admin can search by exact value (account, workspace, team, channel; names or ids).
SEARCHABLE_META = (
    "guild_name",
    "guild_id",
    "team_name",
    "team_id",
    "account_name",
    "target_name",
    "target_id",
    "channel",
    "channel_id",
    "channel_name",
)


def _bucket(targeted: Sequence[str]) -> Any:
    """SQL for a row's overview status: needs_attention (not active, or no target picked yet) or connected."""
    needs_target = sa.and_(
        col(ProjectIntegration.integration_type).in_(list(targeted) or [""]),
        sa.not_(sa.type_coerce(col(ProjectIntegration.meta), pg.JSONB).has_key("target_id")),
    )
    return sa.case(
        (col(ProjectIntegration.status) != "active", "needs_attention"),
        (needs_target, "needs_attention"),
        else_="connected",
    )


async def overview_totals(
    session: AsyncSession, *, tenant_id: uuid.UUID, targeted: Sequence[str]
) -> tuple[int, list[tuple[str, str, int]]]:
    """(number of projects, [(integration_type, bucket, count)]) for the whole tenant, in two queries."""
    projects = await session.execute(
        sa.select(sa.func.count()).select_from(Project).where(col(Project.tenant_id) == tenant_id)
    )
    bucket = _bucket(targeted).label("bucket")
    counts = await session.execute(
        sa.select(col(ProjectIntegration.integration_type), bucket, sa.func.count())
        .where(col(ProjectIntegration.tenant_id) == tenant_id)
        .group_by(col(ProjectIntegration.integration_type), bucket)
    )
    return int(projects.scalar_one()), [(kind, str(b), int(n)) for kind, b, n in counts.all()]


async def overview_page(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    targeted: Sequence[str],
    status: str | None,
    provider: str | None,
    needs_attention: bool,
    search: str | None,
    sort: str,
    limit: int,
    offset: int,
) -> tuple[int, list[tuple[uuid.UUID, str, datetime | None]]]:
    """One page of the tenant's projects matching the filters: (total matching, [(id, name, last change)])."""
    pi = ProjectIntegration
    last_change = (
        sa.select(sa.func.max(col(pi.updated_at)))
        .where(col(pi.tenant_id) == tenant_id, col(pi.project_id) == col(Project.id))
        .scalar_subquery()
    )
    conditions: list[Any] = [col(Project.tenant_id) == tenant_id]

    def having(*where: Any) -> Any:
        return sa.exists().where(
            col(pi.tenant_id) == tenant_id, col(pi.project_id) == col(Project.id), *where
        )

    if search:
        # One GIN-indexed lookup over all display fields (a BitmapOr of containments), not one per project.
        matches = [col(pi.meta).contains({name: search}) for name in SEARCHABLE_META]
        by_meta = sa.select(col(pi.project_id)).where(col(pi.tenant_id) == tenant_id, sa.or_(*matches))
        name_like = col(Project.name).ilike(f"%{_escape_like(search)}%", escape="\\")
        conditions.append(sa.or_(name_like, col(Project.id).in_(by_meta)))
    if needs_attention:
        conditions.append(having(_bucket(targeted) == "needs_attention"))
    if status == "not_connected":
        conditions.append(sa.not_(having(*([col(pi.integration_type) == provider] if provider else []))))
    elif status in ("connected", "needs_attention"):
        conditions.append(
            having(_bucket(targeted) == status, *([col(pi.integration_type) == provider] if provider else []))
        )
    elif provider:
        conditions.append(having(col(pi.integration_type) == provider))
    orders: dict[str, list[Any]] = {
        "name": [col(Project.name).asc()],
        "-name": [col(Project.name).desc()],
        "updated": [last_change.asc().nulls_first(), col(Project.name).asc()],
        "-updated": [last_change.desc().nulls_last(), col(Project.name).asc()],
    }
    order = orders[sort]
    # The total rides along as a window count, so the filters are evaluated once, not twice.
    result = await session.execute(
        sa.select(col(Project.id), col(Project.name), last_change, sa.func.count().over())
        .where(*conditions)
        .order_by(*order, col(Project.id))
        .limit(limit)
        .offset(offset)
    )
    rows = result.all()
    if rows:
        total = int(rows[0][3])
    elif offset:  # past the last page: count on its own
        counted = await session.execute(sa.select(sa.func.count()).select_from(Project).where(*conditions))
        total = int(counted.scalar_one())
    else:
        total = 0
    return total, [(pid, name, changed) for pid, name, changed, _ in rows]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def integrations_of_projects(
    session: AsyncSession, *, tenant_id: uuid.UUID, project_ids: Sequence[uuid.UUID]
) -> Sequence[ProjectIntegration]:
    """The integrations of a page of projects, in one query (never one per project)."""
    if not project_ids:
        return []
    result = await session.execute(
        select(ProjectIntegration).where(
            ProjectIntegration.tenant_id == tenant_id,
            col(ProjectIntegration.project_id).in_(list(project_ids)),
        )
    )
    return result.scalars().all()
