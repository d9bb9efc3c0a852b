"""The admin overview's queries: every project of a tenant against every provider, filtered and paged.

A fixed number of queries per page, whatever its size; every query filters by tenant. Totals, filters,
sorts and search read the trigger-kept summary (`overview_projects`, `overview_totals`, migration 0015);
only the page's own integrations are read from `project_integrations`.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from psycopg import sql as psql
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from tms_console.domain.status import OverviewBucket
from tms_console.persistence.db import driver
from tms_console.persistence.models import (
    DeliveryHealth,
    OverviewProject,
    OverviewSignature,
)

# What search matches, as migration 0015's trigger indexes it into `overview_projects` (a test checks
# the two agree): any part of these names (and of the project's name), any case; these ids exactly.
SEARCH_NAMES = (
    "guild_name", "team_name", "ms_team_name", "account_name", "target_name", "channel",
    "channel_name", "phone_number", "display_phone_number", "verified_name",
)  # fmt: skip
SEARCH_IDS = (
    "guild_id", "team_id", "channel_id", "target_id", "account_id", "bot_id", "waba_id",
    "phone_number_id", "webhook_id", "tenant_id",
)  # fmt: skip


@dataclass(frozen=True)
class ProviderTotal:
    """One provider's integrations in a tenant, as the trigger keeps them (see models.OverviewTotal)."""

    integration_type: str
    installed: int
    inactive: int
    untargeted: int


async def overview_totals(
    session: AsyncSession, *, tenant_id: uuid.UUID
) -> tuple[int, int, list[ProviderTotal]]:
    """(projects, integrations with failing deliveries, per-provider totals) of a tenant, in one query.

    Reads the trigger-kept rows (a handful per tenant) and counts the failing rows of a partial index
    (as `_failing` selects them), as one fixed statement on the driver (`db.driver`): plain tuples."""
    cursor = await (await driver(session)).execute(_TOTALS, {"tenant_id": tenant_id})
    rows = await cursor.fetchall()
    kinds = [ProviderTotal(kind, n, bad, untargeted) for _, _, kind, n, bad, untargeted in rows if kind]
    return int(rows[0][0] or 0), int(rows[0][1]), kinds


_TOTALS = (
    "SELECT (SELECT projects FROM overview_tenants WHERE tenant_id = %(tenant_id)s), "
    "(SELECT count(*) FROM delivery_health WHERE tenant_id = %(tenant_id)s AND failing), "
    "t.integration_type, t.installed, t.inactive, t.untargeted "
    "FROM (SELECT 1) AS one LEFT JOIN overview_totals t ON t.tenant_id = %(tenant_id)s"
)


def _failing(tenant_id: uuid.UUID, column: Any) -> Any:
    """SQL: `column` of the tenant's health rows whose deliveries are failing (the partial index).

    Read without a join to the integrations: a health row is deleted with its integration (the one
    delete path, repository.delete_integration), and joining 70,000 rows costs the overview its target.
    """
    health = DeliveryHealth
    failing = (col(health.tenant_id) == tenant_id, col(health.failing))
    return sa.select(column).select_from(health).where(*failing)


def _has(column: Any, kind: str) -> Any:
    return col(column).contains([kind])


def _overlaps(column: Any, kinds: Sequence[str]) -> Any:
    return col(column).op("&&")(sa.literal(list(kinds), pg.ARRAY(sa.Text)))


Flags = type[OverviewProject] | type[OverviewSignature]  # both have installed, inactive, untargeted


def _attention(kind: str | None, targeted: Sequence[str], ov: Flags = OverviewProject) -> Any:
    """SQL: the project (or signature) has an integration (of `kind`, or of any provider) that needs
    attention: not active, or (for providers with a target) no target picked yet."""
    if kind is None:
        return sa.or_(sa.func.cardinality(col(ov.inactive)) > 0, _overlaps(ov.untargeted, targeted))
    if kind in targeted:
        return sa.or_(_has(ov.inactive, kind), _has(ov.untargeted, kind))
    return _has(ov.inactive, kind)


def _connected(kind: str | None, targeted: Sequence[str], ov: Flags) -> Any:
    """SQL: the project (or signature) has an integration (of `kind`, or of any provider) that is
    connected."""
    if kind is not None:
        return sa.and_(_has(ov.installed, kind), sa.not_(_attention(kind, targeted, ov)))
    kinds = sa.func.unnest(col(ov.installed)).table_valued("kind").render_derived()
    installed = kinds.c.kind
    fine = sa.and_(
        sa.not_(installed == sa.any_(col(ov.inactive))),
        sa.not_(sa.and_(installed == sa.any_(col(ov.untargeted)), installed.in_(list(targeted) or [""]))),
    )
    return sa.exists(sa.select(sa.literal(1)).select_from(kinds).where(fine))


def _status(status: str | None, provider: str | None, targeted: Sequence[str], ov: Flags) -> list[Any]:
    if status == OverviewBucket.NOT_CONNECTED:
        if provider:
            return [sa.not_(_has(ov.installed, provider))]
        return [sa.func.cardinality(col(ov.installed)) == 0]
    if status == OverviewBucket.CONNECTED:
        return [_connected(provider, targeted, ov)]
    if status == OverviewBucket.NEEDS_ATTENTION:
        return [_attention(provider, targeted, ov)]
    return [_has(ov.installed, provider)] if provider else []


def _flags(
    status: str | None, provider: str | None, needs_attention: bool, targeted: Sequence[str], ov: Flags
) -> list[Any]:
    """SQL: the status filters, on a project's row or on a signature's (the same flags)."""
    attention = [_attention(None, targeted, ov)] if needs_attention else []
    return [*_status(status, provider, targeted, ov), *attention]


def search_condition(search: str) -> Any:
    """SQL: any part of a project, account or channel name (trigram GIN, any case), or an exact id."""
    ov = OverviewProject
    pattern = f"%{_escape_like(search)}%"
    return sa.or_(col(ov.search_text).ilike(pattern, escape="\\"), col(ov.search_ids).contains([search]))


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
    known_total: int | None = None,
) -> tuple[int, list[tuple[uuid.UUID, str, str]]]:
    """One page of the tenant's projects matching the filters: (total matching, [(id, name, last change
    as `installations.stamp` writes it)]).

    Reads `overview_projects` (one narrow row per project, kept by triggers), never the integrations.
    `known_total`: the caller knows how many match (from the kept totals), so only the page is read;
    otherwise they are counted in a second, index-only query (a window count would materialise every
    matching row). `failing`: projects with an integration whose deliveries are failing (that
    provider's, when one is given)."""
    ov = OverviewProject
    flags = _flags(status, provider, needs_attention, targeted, ov)
    conditions: list[Any] = [col(ov.tenant_id) == tenant_id, *flags]
    if search:
        conditions.append(search_condition(search))
    if failing:
        # An array of the failing projects, built once (a few thousand at most) and probed by primary key.
        of_provider = [col(DeliveryHealth.integration_type) == provider] if provider else []
        failing_here = _failing(tenant_id, col(DeliveryHealth.project_id)).where(*of_provider)
        conditions.append(col(ov.project_id) == sa.any_(sa.func.array(failing_here.scalar_subquery())))
    orders: dict[str, list[Any]] = {
        "name": [col(ov.name).asc()],
        "-name": [col(ov.name).desc()],
        "updated": [col(ov.last_change).asc().nulls_first(), col(ov.name).asc()],
        "-updated": [col(ov.last_change).desc().nulls_last(), col(ov.name).asc()],
    }
    # The failing filter probes its projects by primary key and sorts every match for the page anyway:
    # a window count over them costs less than counting them again in a second statement.
    windowed = failing and known_total is None
    columns: list[Any] = [
        col(ov.project_id),
        col(ov.name),
        sa.literal_column(stamp_sql("overview_projects.last_change"), sa.Text),
        *([sa.func.count().over()] if windowed else []),
    ]
    connection = await session.connection()
    async with _planned_each_time(session):
        page: Sequence[Any] = (
            await connection.execute(
                sa.select(*columns)
                .where(*conditions)
                .order_by(*orders[sort], col(ov.project_id))
                .limit(limit)
                .offset(offset)
            )
        ).all()
        rows = [(pid, name, changed) for pid, name, changed, *_ in page]
        if known_total is not None:
            return known_total, rows
        if windowed and page:
            return int(page[0][3]), rows
        if not search and not failing:  # the kept signatures say how many match
            sig = OverviewSignature
            kept = sa.func.coalesce(sa.func.sum(col(sig.projects)), 0)
            of_tenant = col(sig.tenant_id) == tenant_id
            where = [of_tenant, *_flags(status, provider, needs_attention, targeted, sig)]
            return int((await connection.execute(sa.select(kept).where(*where))).scalar_one()), rows
        if not offset and len(rows) < limit:  # the whole result fits on this page
            return len(rows), rows
        counted = await connection.execute(sa.select(sa.func.count()).select_from(ov).where(*conditions))
        return int(counted.scalar_one()), rows


@asynccontextmanager
async def _planned_each_time(session: AsyncSession) -> AsyncIterator[None]:
    """Statements whose best plan depends on the values (how many projects a tenant has, how many fail):
    planned for each execution, never as one generic prepared plan. Prepared after a few runs, the
    failing filter's generic plan probed the failing rows once per project of the tenant (10,000)."""
    connection = await driver(session)
    threshold = connection.prepare_threshold
    connection.prepare_threshold = None
    try:
        yield
    finally:
        connection.prepare_threshold = threshold


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# One integration of a page, as `integrations_of_projects` returns it (plain tuples: 350 of them per
# page, no object per row): project id (text), type, account, channel (the first non-empty of the
# account and channel fields, "" if none), target id (or None), stored status, status reason, when it
# changed and since when its deliveries fail (both already as `installations.stamp` writes them, ""
# for none), whether its deliveries are failing. Never a credential.
PageIntegration = tuple[str, str, str, str, str | None, str, str | None, str, str, bool]

# `installations.stamp`'s format, written by Postgres (a test holds the two together): 700 timestamps a
# page need no datetime object, no time zone conversion and no strftime in Python.
STAMP = 'YYYY-MM-DD HH24:MI "UTC"'


def stamp_sql(column: str) -> str:
    return f"coalesce(to_char({column} AT TIME ZONE 'UTC', '{STAMP}'), '')"


async def integrations_of_projects(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    project_ids: Sequence[uuid.UUID],
    account_keys: Sequence[str],
    channel_keys: Sequence[str],
) -> list[PageIntegration]:
    """The integrations of a page of projects with whether their deliveries are failing (and since
    when), in one query (never one per project), of `meta` only what the page shows: the first
    non-empty of `account_keys` and of `channel_keys` (picked by Postgres, as `first_of` picks them from
    the same keys). A fixed statement on the driver (`db.driver`): plain tuples, no object per row, as
    SQLAlchemy's execution and result layers cost more than the query for 350 rows a page."""
    if not project_ids:
        return []
    cursor = await (await driver(session)).execute(
        _page_integrations(tuple(account_keys), tuple(channel_keys)),
        {"tenant_id": tenant_id, "ids": list(project_ids)},
    )
    return await cursor.fetchall()  # type: ignore[no-any-return]


def _first_of(keys: Sequence[str]) -> Any:
    """SQL: the first of these meta keys whose text is not empty, else ''."""
    picks = [psql.SQL("nullif(pi.meta->>{}, '')").format(psql.Literal(key)) for key in keys]
    return psql.SQL("coalesce({}, '')").format(psql.SQL(", ").join(picks))


@functools.cache
def _page_integrations(account_keys: tuple[str, ...], channel_keys: tuple[str, ...]) -> Any:
    """The statement of `integrations_of_projects`, built once (parameters: tenant_id, ids). A lateral
    lookup by primary key per integration (350 probes), not a hash join over every health row."""
    return psql.SQL(
        "SELECT pi.project_id::text, pi.integration_type, {account}, {channel}, pi.meta->>'target_id', "
        "pi.status, pi.status_reason, {updated}, "
        "CASE WHEN h.failing THEN {since} ELSE '' END, coalesce(h.failing, false) "
        "FROM project_integrations pi LEFT JOIN LATERAL ("
        " SELECT failing, failing_since FROM delivery_health WHERE integration_id = pi.id LIMIT 1"
        ") h ON true "
        "WHERE pi.tenant_id = %(tenant_id)s AND pi.project_id = ANY(%(ids)s)"
    ).format(
        account=_first_of(account_keys),
        channel=_first_of(channel_keys),
        updated=psql.SQL(stamp_sql("pi.updated_at")),  # type: ignore[arg-type]
        since=psql.SQL(stamp_sql("h.failing_since")),  # type: ignore[arg-type]
    )
