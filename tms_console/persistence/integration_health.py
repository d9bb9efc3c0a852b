"""Integration health's SQL: which integrations are due a check or a token refresh, and their health row.

Both schedules read every checkable integration once per scheduler tick (one statement each, no N+1).
Not tenant-scoped: the scheduler and the worker act for every tenant, by integration id, and nothing here
is shown to anyone. Lock order, everywhere: the integration row (FOR UPDATE), then its health row.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from tms_console.domain.status import IntegrationStatus
from tms_console.persistence.job_queue import CHECK_LOCK_PREFIX, REFRESH_LOCK_PREFIX
from tms_console.persistence.models import IntegrationCredential, IntegrationHealth, ProjectIntegration

# Checked and refreshed: an integration that needs a reconnect or was disabled waits for a person.
WATCHED = [IntegrationStatus.ACTIVE.value, IntegrationStatus.DEGRADED.value]

# Each integration's slot is a fixed offset into the interval (a hash of its id, sign bit off), so checks
# spread evenly; its next slot is the first at or after the window's start. Skipped: checked less than half
# an interval before that slot, delivered successfully within the interval, or a check already queued.
_DUE_CHECKS = sa.text(
    """
    WITH slotted AS (
        SELECT id, offset_ms + CEIL((:start_ms - offset_ms) / :interval_ms) * :interval_ms AS slot_ms
        FROM (
            SELECT id,
                ((hashtextextended(id::text, 0) & 9223372036854775807) % :interval_ms)::numeric AS offset_ms
            FROM project_integrations
            WHERE integration_type = ANY(:types) AND status = ANY(:statuses)
        ) candidates
    )
    SELECT s.id, s.slot_ms
    FROM slotted s
    LEFT JOIN integration_health h ON h.integration_id = s.id
    LEFT JOIN delivery_health d ON d.integration_id = s.id
    WHERE s.slot_ms < :end_ms
      AND (h.last_checked_at IS NULL
           OR h.last_checked_at < to_timestamp((s.slot_ms - :interval_ms / 2) / 1000.0))
      AND NOT COALESCE(d.last_status = 'delivered' AND d.last_delivery_at > :delivered_since, false)
      AND NOT EXISTS (
          SELECT 1 FROM procrastinate_jobs j
          WHERE j.queueing_lock = :lock_prefix || s.id::text AND j.status = 'todo'
      )
    """
)

# Due: the access token expires within `lead` of the window's end, or (providers whose refresh tokens
# die unused) was last refreshed more than `idle` ago; not before a failed refresh's backoff ends.
_DUE_REFRESHES = sa.text(
    """
    SELECT p.id,
           GREATEST(
               CASE WHEN c.expires_at - :lead < :end_at THEN c.expires_at - :lead ELSE :now END,
               :now,
               COALESCE(h.retry_refresh_at, :now)
           ) AS due_at
    FROM project_integrations p
    JOIN integration_credentials c ON c.integration_id = p.id
    LEFT JOIN integration_health h ON h.integration_id = p.id
    WHERE p.integration_type = ANY(:types) AND p.status = ANY(:statuses) AND c.expires_at IS NOT NULL
      AND (c.expires_at - :lead < :end_at
           OR (p.integration_type = ANY(:idle_types) AND c.updated_at < :now - :idle))
      AND (h.retry_refresh_at IS NULL OR h.retry_refresh_at < :end_at)
      AND NOT EXISTS (
          SELECT 1 FROM procrastinate_jobs j
          WHERE j.queueing_lock = :lock_prefix || p.id::text AND j.status = 'todo'
      )
    """
)


async def due_checks(
    session: AsyncSession,
    *,
    types: Sequence[str],
    interval: timedelta,
    start: datetime,
    end: datetime,
) -> list[tuple[uuid.UUID, datetime]]:
    """The integrations of `types` whose check slot falls in [start, end), with that slot."""
    interval_ms = int(interval.total_seconds() * 1000)
    result = await session.execute(
        _DUE_CHECKS,
        {
            "types": list(types),
            "statuses": WATCHED,
            "interval_ms": interval_ms,
            "start_ms": int(start.timestamp() * 1000),
            "end_ms": int(end.timestamp() * 1000),
            "delivered_since": start - interval,
            "lock_prefix": CHECK_LOCK_PREFIX,
        },
    )
    return [(row[0], datetime.fromtimestamp(float(row[1]) / 1000, UTC)) for row in result.all()]


async def due_refreshes(
    session: AsyncSession,
    *,
    types: Sequence[str],
    idle_types: Sequence[str],
    lead: timedelta,
    idle: timedelta,
    now: datetime,
    end: datetime,
) -> list[tuple[uuid.UUID, datetime]]:
    """The integrations of `types` whose access token is due a refresh before `end`, with when."""
    result = await session.execute(
        _DUE_REFRESHES,
        {
            "types": list(types),
            "idle_types": list(idle_types),
            "statuses": WATCHED,
            "lead": lead,
            "idle": idle,
            "now": now,
            "end_at": end,
            "lock_prefix": REFRESH_LOCK_PREFIX,
        },
    )
    return [(row[0], row[1]) for row in result.all()]


async def locked(
    session: AsyncSession, integration_id: uuid.UUID
) -> tuple[ProjectIntegration, IntegrationCredential | None, IntegrationHealth] | None:
    """The integration (locked FOR UPDATE until the transaction ends), its credentials read once the lock
    is held (a token another worker refreshed meanwhile is seen refreshed), and its health row (a new one,
    added to the session, if it had none); None when it was uninstalled."""
    lock = sa.select(col(ProjectIntegration.id)).where(col(ProjectIntegration.id) == integration_id)
    if (await session.execute(lock.with_for_update())).first() is None:
        return None
    found = await read(session, integration_id)
    if found is None:
        return None
    health = await session.get(IntegrationHealth, integration_id, with_for_update=True)
    if health is None:
        health = IntegrationHealth(integration_id=integration_id)
        session.add(health)
    return *found, health


async def read(
    session: AsyncSession, integration_id: uuid.UUID
) -> tuple[ProjectIntegration, IntegrationCredential | None] | None:
    """The integration and its credentials, unlocked (what a check reads before calling the provider)."""
    found = (
        await session.execute(_with_credentials().where(col(ProjectIntegration.id) == integration_id))
    ).first()
    return (found[0], found[1]) if found else None


def _with_credentials() -> sa.Select:  # type: ignore[type-arg]
    return select(ProjectIntegration, IntegrationCredential).outerjoin(
        IntegrationCredential,
        col(IntegrationCredential.integration_id) == col(ProjectIntegration.id),
    )
