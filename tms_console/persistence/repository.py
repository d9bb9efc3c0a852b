"""Tenant-scoped data access: every query filters by tenant (and project), except where a docstring says
why not. Key rotation's queries are in key_rotation.py, the admin overview's in overview_queries.py."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from tms_console.domain.status import IntegrationStatus
from tms_console.domain.values import Sealed
from tms_console.persistence import delivery_health
from tms_console.persistence.db import async_url
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


_INSTALLED_IN_PROJECT = """SELECT p.id, i.id FROM projects p
LEFT JOIN project_integrations i
    ON i.tenant_id = p.tenant_id AND i.project_id = p.id AND i.integration_type = %(integration_type)s
WHERE p.tenant_id = %(tenant_id)s AND p.id = %(project_id)s"""


async def installed_in_project(
    connection: AsyncConnection[Any], *, tenant_id: uuid.UUID, project_id: uuid.UUID, integration_type: str
) -> tuple[uuid.UUID, uuid.UUID | None] | None:
    """(the project's id, the id of its integration of this type or None), or None: no such project in
    the tenant. One query on an autocommit `connection` (`db.statement()`: an install's start)."""
    params = {"tenant_id": tenant_id, "project_id": project_id, "integration_type": integration_type}
    found = await (await connection.execute(_INSTALLED_IN_PROJECT, params)).fetchone()
    return (found[0], found[1]) if found else None


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
        "status": IntegrationStatus.ACTIVE.value,
        "status_reason": None,
        "installed_by_id": installed_by_id,
        "installed_by_name": installed_by_name,
        "created_at": now,
        "updated_at": now,
    }
    statement = insert(ProjectIntegration).values(**values)
    updated = {
        key: statement.excluded[key]
        for key in (  # not the status: services/lifecycle.py changes it (a reconnect makes it active)
            "installed_by_id",
            "installed_by_name",
            "updated_at",
        )
    }
    updated["meta"] = _meta_keeping_events(statement.excluded.meta)
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


def _meta_keeping_events(new_meta: Any) -> Any:
    """A reconnect's meta, keeping the event types the agent picked unless the reconnect picks its own."""
    old_meta = sa.type_coerce(col(ProjectIntegration.meta), JSONB)
    new_meta = sa.type_coerce(new_meta, JSONB)
    keep = sa.and_(sa.not_(new_meta.has_key("events")), old_meta.has_key("events"))
    kept = new_meta.op("||")(sa.func.jsonb_build_object("events", old_meta["events"]))
    return sa.case((keep, kept), else_=new_meta)


async def lock_integration_slot(
    session: AsyncSession, *, tenant_id: uuid.UUID, project_id: uuid.UUID, integration_type: str
) -> None:
    """Hold the project's place for one integration type until the transaction ends (an advisory lock),
    so two installs into it run one after the other even when no row exists yet to lock."""
    key = slot_key(tenant_id, project_id, integration_type)
    await session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(key, 0))))


def slot_key(tenant_id: uuid.UUID, project_id: uuid.UUID, integration_type: str) -> str:
    """What names a project's place for one integration type in the advisory lock (hashed by Postgres)."""
    return f"integration:{tenant_id}:{project_id}:{integration_type}"


async def get_integration(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    project_id: uuid.UUID,
    integration_type: str,
    lock: bool = False,
) -> tuple[ProjectIntegration, IntegrationCredential | None] | None:
    """The row and its credentials; `lock` holds the row (FOR UPDATE) until the transaction ends.

    Locked, the credentials are read after the lock is held, by a statement of their own: a joined row
    read by the locking statement would be the one seen before waiting for the lock, so a token another
    worker refreshed meanwhile would look unrefreshed (and be spent twice).
    """
    query = _with_credentials(tenant_id=tenant_id, project_id=project_id).where(
        ProjectIntegration.integration_type == integration_type
    )
    if lock:
        await session.execute(
            sa.select(col(ProjectIntegration.id))
            .where(
                col(ProjectIntegration.tenant_id) == tenant_id,
                col(ProjectIntegration.project_id) == project_id,
                col(ProjectIntegration.integration_type) == integration_type,
            )
            .with_for_update()
        )
    result = await session.execute(query)
    row = result.first()
    return (row[0], row[1]) if row else None


async def get_integration_by_id(
    session: AsyncSession, *, tenant_id: uuid.UUID, project_id: uuid.UUID, integration_id: uuid.UUID
) -> tuple[ProjectIntegration, IntegrationCredential | None] | None:
    """The row with this id in the tenant's project, and its credentials; None when it is gone."""
    query = _with_credentials(tenant_id=tenant_id, project_id=project_id).where(
        col(ProjectIntegration.id) == integration_id
    )
    row = (await session.execute(query)).first()
    return (row[0], row[1]) if row else None


async def add_meta(
    connection: AsyncConnection[Any],
    *,
    tenant_id: uuid.UUID,
    project_id: uuid.UUID,
    integration_id: uuid.UUID,
    fields: dict[str, Any],
) -> None:
    """Add (or replace) display fields in a row's meta, leaving its other fields as they are now (one
    statement on an autocommit `connection`, `db.statement()`)."""
    params = {"id": integration_id, "tenant_id": tenant_id, "project_id": project_id, "fields": Jsonb(fields)}
    await connection.execute(_ADD_META, params)


_ADD_META = """UPDATE project_integrations SET meta = meta || %(fields)s
WHERE id = %(id)s AND tenant_id = %(tenant_id)s AND project_id = %(project_id)s"""


async def delete_integration(session: AsyncSession, *, integration_id: uuid.UUID) -> None:
    """Delete by id, as returned by a tenant-scoped lookup; credentials go with it (cascade), and its
    delivery health (no foreign key: deleted here, after the row, in the lock order)."""
    await session.execute(sa.delete(ProjectIntegration).where(col(ProjectIntegration.id) == integration_id))
    await delivery_health.forget(session, integration_id=integration_id)


async def record_event(session: AsyncSession, event: IntegrationEvent) -> None:
    session.add(event)


def _users_with_tenants() -> Any:
    """Every user with their tenant (the demo login's list: it spans tenants by design)."""
    return (
        select(User, Tenant)
        .join(Tenant, col(Tenant.id) == col(User.tenant_id))
        .order_by(col(Tenant.name), col(User.role).desc(), col(User.name))
    )


async def list_users(session: AsyncSession) -> Sequence[tuple[User, Tenant]]:
    result = await session.execute(_users_with_tenants())
    return [(user, tenant) for user, tenant in result.all()]


def list_users_blocking(database_url: str) -> Sequence[tuple[User, Tenant]]:
    """The same list on one short-lived blocking connection, for a page compiled before the server's
    event loop runs. Empty when Postgres is not there (a build without a database)."""
    engine = sa.create_engine(
        async_url(database_url), poolclass=sa.pool.NullPool, connect_args={"connect_timeout": 2}
    )
    try:
        with sa.orm.Session(engine) as session:
            return [(user, tenant) for user, tenant in session.execute(_users_with_tenants()).all()]
    except (sa.exc.SQLAlchemyError, OSError):
        return []
    finally:
        engine.dispose()


async def get_user(session: AsyncSession, *, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


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


async def find_by_meta(
    session: AsyncSession, *, integration_type: str, match: dict[str, str]
) -> list[ProjectIntegration]:
    """Every install of a provider whose `meta` holds all of `match` (e.g. a Slack workspace and app):
    several projects, in several tenants, may install the same workspace.

    Deliberately not tenant-scoped: a provider's event names its own ids, never ours. The caller must
    have authenticated the event with the provider's key first; an empty `match` finds nothing.
    """
    if not match or not all(match.values()):
        return []
    result = await session.execute(
        select(ProjectIntegration)
        .where(
            ProjectIntegration.integration_type == integration_type,
            col(ProjectIntegration.meta).contains(match),
        )
        .order_by(col(ProjectIntegration.id))
    )
    return list(result.scalars().all())
