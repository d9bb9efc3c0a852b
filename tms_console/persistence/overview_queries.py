"""The admin overview's queries: every project of a tenant against every provider, filtered and paged.

A fixed number of queries per page, whatever its size; every query filters by tenant.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from tms_console.domain.status import IntegrationStatus, OverviewBucket
from tms_console.persistence.models import DeliveryHealth, Project, ProjectIntegration

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
        (
            col(ProjectIntegration.status) != IntegrationStatus.ACTIVE.value,
            OverviewBucket.NEEDS_ATTENTION.value,
        ),
        (needs_target, OverviewBucket.NEEDS_ATTENTION.value),
        else_=OverviewBucket.CONNECTED.value,
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


def _failing(tenant_id: uuid.UUID, column: Any) -> Any:
    """SQL: `column` of the tenant's health rows whose deliveries are failing (the partial index).

    Read without a join to the integrations: a health row is deleted with its integration (the one
    delete path, repository.delete_integration), and joining 70,000 rows costs the overview its target.
    """
    health = DeliveryHealth
    failing = (col(health.tenant_id) == tenant_id, col(health.failing))
    return sa.select(column).select_from(health).where(*failing)


async def failing_total(session: AsyncSession, *, tenant_id: uuid.UUID) -> int:
    """How many of the tenant's integrations have failing deliveries, in one query."""
    query = _failing(tenant_id, sa.func.count())
    return int((await session.execute(query)).scalar_one())


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
    failing: bool = False,
) -> tuple[int, list[tuple[uuid.UUID, str, datetime | None]]]:
    """One page of the tenant's projects matching the filters: (total matching, [(id, name, last change)]).

    `failing`: projects with an integration whose deliveries are failing (that provider's, when one is
    given)."""
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
        conditions.append(having(_bucket(targeted) == OverviewBucket.NEEDS_ATTENTION.value))
    if failing:
        of_provider = [col(DeliveryHealth.integration_type) == provider] if provider else []
        failing_here = _failing(tenant_id, sa.literal(1)).where(
            col(DeliveryHealth.project_id) == col(Project.id), *of_provider
        )
        conditions.append(failing_here.exists())
    if status == OverviewBucket.NOT_CONNECTED:
        conditions.append(sa.not_(having(*([col(pi.integration_type) == provider] if provider else []))))
    elif status in (OverviewBucket.CONNECTED, OverviewBucket.NEEDS_ATTENTION):
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
) -> list[tuple[ProjectIntegration, bool, datetime | None]]:
    """The integrations of a page of projects with whether their deliveries are failing (and since
    when), in one query (never one per project)."""
    if not project_ids:
        return []
    health = DeliveryHealth
    result = await session.execute(
        select(ProjectIntegration, health.failing, health.failing_since)
        .join(health, col(health.integration_id) == col(ProjectIntegration.id), isouter=True)
        .where(
            ProjectIntegration.tenant_id == tenant_id,
            col(ProjectIntegration.project_id).in_(list(project_ids)),
        )
    )
    return [(row, bool(failing), since if failing else None) for row, failing, since in result.all()]
