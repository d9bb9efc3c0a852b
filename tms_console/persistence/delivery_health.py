"""Delivery health's SQL: each integration's last delivery outcome and whether its deliveries are failing.

Written in the transaction that records each outcome; read by the cards (one query per page) and the
admin overview (joined into its queries). Lock order, everywhere: the integration row, then this row.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from tms_console.domain.ticket_events import DeliveryStatus
from tms_console.persistence.models import DeliveryHealth

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
    connection = await session.connection()
    params = {"integration_id": integration_id, **values(at, status, reason)}
    await connection.exec_driver_sql(_RECORD, params)


def values(at: datetime, status: str, reason: str | None) -> dict[str, object]:
    """The parameters of `upsert_from`'s statement."""
    return {"health_at": at, "health_status": status, "health_reason": reason[:50] if reason else None}


def upsert_from(source: str) -> str:
    """The upsert of `record` (one statement, so it can also be part of a larger one), taking the
    integration rows, as `pi`, from `FROM {source}` (which locks them FOR KEY SHARE); parameters
    `health_at`, `health_status`, `health_reason` (see `values`)."""
    failing = f"%(health_status)s::varchar <> '{DeliveryStatus.DELIVERED.value}'"
    return f"""INSERT INTO delivery_health AS old ({", ".join(COLUMNS)})
        SELECT pi.id, pi.tenant_id, pi.project_id, pi.integration_type, %(health_at)s::timestamptz,
            %(health_status)s::varchar, %(health_reason)s::varchar, {failing},
            CASE WHEN {failing} THEN %(health_at)s::timestamptz END, now()
        FROM {source}
        ON CONFLICT (integration_id) DO UPDATE SET
            last_delivery_at = excluded.last_delivery_at, last_status = excluded.last_status,
            last_reason = excluded.last_reason, failing = excluded.failing,
            failing_since = CASE WHEN NOT excluded.failing THEN NULL WHEN old.failing THEN old.failing_since
                ELSE excluded.failing_since END,
            updated_at = excluded.updated_at
        WHERE excluded.last_delivery_at >= old.last_delivery_at"""  # noqa: S608 (constants; values are parameters)


_RECORD = upsert_from("project_integrations AS pi WHERE pi.id = %(integration_id)s FOR KEY SHARE")


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
