"""Delivery health's SQL: each integration's last delivery outcome and whether its deliveries are failing.

Written in the transaction that records each outcome; read by the cards (one query per page) and the
admin overview (joined into its queries). Lock order, everywhere: the integration row, then this row.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from tms_console.domain.ticket_events import DeliveryStatus
from tms_console.persistence.models import DeliveryHealth, ProjectIntegration

RETRYING = "retrying"  # the last outcome was a failure that will be tried again (the delivery is pending)
COLUMNS = (
    "integration_id",
    "tenant_id",
    "project_id",
    "integration_type",
    "last_delivery_at",
    "last_status",
    "last_reason",
    "failing",
    "failing_since",
    "updated_at",
)


async def record(
    session: AsyncSession, *, integration_id: uuid.UUID, at: datetime, status: str, reason: str | None
) -> None:
    """Upsert the integration's last outcome in one statement: anything but delivered is failing.

    Tenant, project and type come from the integration row, read FOR KEY SHARE: an uninstall (which
    locks that row FOR UPDATE, deletes it, then this row) either went first, and nothing is written,
    or waits for this transaction and then deletes what it wrote. Attempts of one integration settle
    concurrently: only an outcome at least as recent as the stored one replaces it, and `failing_since`
    keeps the first failure of a run.
    """
    failing = status != DeliveryStatus.DELIVERED.value
    values = {
        "integration_id": integration_id,
        "at": at,
        "status": status,
        "reason": reason[:50] if reason else None,
        "failing": failing,
        "failing_since": at if failing else None,
    }
    await session.execute(_record_statement(), values)


@functools.cache
def _record_statement() -> sa.Executable:
    """`record`'s statement, built once (it runs once per delivery attempt; building it cost more than
    running it): the values are bound parameters."""
    pi = ProjectIntegration
    stamp = sa.DateTime(timezone=True)
    source = (
        sa.select(
            col(pi.id),
            col(pi.tenant_id),
            col(pi.project_id),
            col(pi.integration_type),
            sa.bindparam("at", type_=stamp),
            sa.bindparam("status", type_=sa.String(20)),
            sa.bindparam("reason", type_=sa.String(50)),
            sa.bindparam("failing", type_=sa.Boolean),
            sa.bindparam("failing_since", type_=stamp),
            sa.func.now(),
        )
        .where(col(pi.id) == sa.bindparam("integration_id", type_=sa.Uuid))
        .with_for_update(key_share=True)
    )
    table = DeliveryHealth.__table__  # type: ignore[attr-defined]  # Core: the values are parameters
    statement = insert(table).from_select(list(COLUMNS), source)
    new, old = statement.excluded, table.c
    since = sa.case((sa.not_(new.failing), None), (old.failing, old.failing_since), else_=new.failing_since)
    replaced = {name: new[name] for name in COLUMNS[4:]} | {"failing_since": since}
    return statement.on_conflict_do_update(
        index_elements=["integration_id"],
        set_=replaced,
        where=new.last_delivery_at >= old.last_delivery_at,
    )


async def mark_resumed(session: AsyncSession, *, integration_id: uuid.UUID) -> None:
    """Paused deliveries went back in the queue: the last outcome reads "retrying"; still failing until
    one is delivered."""
    await session.execute(
        sa.update(DeliveryHealth)
        .where(
            col(DeliveryHealth.integration_id) == integration_id,
            col(DeliveryHealth.last_status) == DeliveryStatus.PAUSED.value,
        )
        .values(last_status=RETRYING, updated_at=sa.func.now())
    )


async def forget(session: AsyncSession, *, integration_id: uuid.UUID) -> None:
    """The integration was deleted: nothing stale may show (a reinstall starts without a row)."""
    gone = col(DeliveryHealth.integration_id) == integration_id
    await session.execute(sa.delete(DeliveryHealth).where(gone))


async def of_integrations(
    session: AsyncSession, *, tenant_id: uuid.UUID, integration_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, DeliveryHealth]:
    """The health rows of some integrations of a tenant, in one query."""
    if not integration_ids:
        return {}
    result = await session.execute(
        select(DeliveryHealth).where(
            col(DeliveryHealth.tenant_id) == tenant_id,
            col(DeliveryHealth.integration_id).in_(list(integration_ids)),
        )
    )
    return {row.integration_id: row for row in result.scalars().all()}
