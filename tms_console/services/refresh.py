"""Proactive token refresh: an access token is renewed 15 minutes before it expires (and at least daily for
providers whose refresh tokens die when unused), not when a delivery finds it expired.

Single-flight across workers and hosts: the refresh runs under the integration row's lock (FOR UPDATE)
and re-reads the credentials once it holds it, so however many jobs, checks or deliveries reach one
due integration at once, the token endpoint sees one call; the others find the token fresh.

Failures:
- `invalid_grant` (the refresh token was revoked, expired or spent): `needs_reconnect` at once.
- anything else (the endpoint unreachable, 5xx, 429, another refusal): tried again with backoff (1, 5,
  15, 30 minutes, then hourly), counting at most one failure a day; on the fourth failing day the
  integration gives up: `needs_reconnect`, reason `refresh_failed`. While failures last and the access
  token has expired, an active integration reads `degraded` (`refresh_failing`).
- a successful refresh after failures resets the counts and moves `degraded` (`refresh_failing`) back to
  `active` with reason `recovered`.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from tms_console.domain.errors import ProviderError, ServiceError
from tms_console.domain.reasons import Reason
from tms_console.domain.status import IntegrationStatus
from tms_console.persistence import integration_health
from tms_console.persistence.models import IntegrationCredential, IntegrationHealth, ProjectIntegration
from tms_console.providers.registry import get_provider
from tms_console.providers.spec import ProviderSpec
from tms_console.security.keyring import DecryptError
from tms_console.services import credentials, lifecycle, pacing, tokens
from tms_console.services.unit_of_work import unit_of_work

logger = logging.getLogger("tms_console.health")
LEAD = timedelta(minutes=15)  # refresh this long before the access token expires
IDLE = timedelta(days=1)  # at least this often where refresh tokens die unused
FAILURE_DAY = timedelta(days=1)  # failures within a day of the last counted one count once
GIVE_UP_DAYS = 4
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(minutes=30))
LAST_BACKOFF = timedelta(hours=1)
REFRESH_FAILING = "refresh_failing"
REFRESH_FAILED = "refresh_failed"
RECOVERED = "recovered"


class Refresh(StrEnum):
    """What one proactive refresh came to."""

    REFRESHED = "refreshed"
    FRESH = "fresh"  # not due (another worker refreshed it first, or nothing expires soon)
    FAILED = "failed"  # for now: backoff, counted
    REFUSED = "refused"  # invalid_grant: needs a reconnect
    SKIPPED = "skipped"  # uninstalled, not watched, nothing to refresh with


def is_due(spec: ProviderSpec, credential: IntegrationCredential, now: datetime) -> bool:
    """Whether the access token expires within LEAD, or (refresh tokens that die unused) is a day old."""
    expires = _aware(credential.expires_at)
    if expires is None:
        return False
    refreshed = _aware(credential.updated_at) or now
    return expires - LEAD <= now or (spec.refresh_when_idle and refreshed <= now - IDLE)


async def refresh(integration_id: uuid.UUID, *, now: datetime | None = None) -> Refresh:
    """Refresh the integration's access token if it is due, under its row lock, and record how it went."""
    now = now or datetime.now(UTC)
    async with unit_of_work() as session:
        found = await integration_health.locked(session, integration_id)
        if found is None:
            return Refresh.SKIPPED
        row, credential, health = found
        spec = get_provider(row.integration_type)
        if (
            row.status not in integration_health.WATCHED
            or credential is None
            or spec is None
            or not spec.refresh
        ):
            return Refresh.SKIPPED
        if not is_due(spec, credential, now):
            return Refresh.FRESH
        try:
            bundle = credentials.open_bundle(row, credential)
        except DecryptError:
            return Refresh.SKIPPED  # the card already says reconnect (unreadable credentials)
        if not bundle.get("refresh_token"):
            return Refresh.SKIPPED
        await pacing.wait_turn(spec.key)
        try:
            await tokens.refresh_locked(session, row, bundle)
        except tokens.RefreshRefused as exc:
            if exc.reason is Reason.INVALID_GRANT:
                await _refused(session, row, health)
                return Refresh.REFUSED
            await _failed(session, row, credential, health, exc, now)
            return Refresh.FAILED
        except ProviderError as exc:
            await _failed(session, row, credential, health, exc, now)
            return Refresh.FAILED
        await _refreshed(session, row, health, now)
        return Refresh.REFRESHED


async def _refreshed(
    session: AsyncSession, row: ProjectIntegration, health: IntegrationHealth, now: datetime
) -> None:
    if health.refresh_attempts:
        logger.info("refresh_recovered type=%s failed_days=%d", row.integration_type, health.refresh_failures)
    health.last_refreshed_at, health.refresh_attempts, health.refresh_failures = now, 0, 0
    health.first_refresh_failure_at = health.last_refresh_failure_at = health.retry_refresh_at = None
    if row.status == IntegrationStatus.DEGRADED.value and row.status_reason == REFRESH_FAILING:
        await lifecycle.transition(
            session, row.id, IntegrationStatus.ACTIVE, RECOVERED, actor=lifecycle.SYSTEM_HEALTH
        )


async def _refused(session: AsyncSession, row: ProjectIntegration, health: IntegrationHealth) -> None:
    health.retry_refresh_at = None
    await lifecycle.transition(
        session,
        row.id,
        IntegrationStatus.NEEDS_RECONNECT,
        Reason.INVALID_GRANT.value,
        actor=lifecycle.SYSTEM_HEALTH,
    )


async def _failed(
    session: AsyncSession,
    row: ProjectIntegration,
    credential: IntegrationCredential,
    health: IntegrationHealth,
    error: ServiceError,
    now: datetime,
) -> None:
    """Back off; count the failure if it is the first of a day; give up on the fourth failing day."""
    health.refresh_attempts += 1
    health.retry_refresh_at = now + (
        BACKOFF[health.refresh_attempts - 1] if health.refresh_attempts <= len(BACKOFF) else LAST_BACKOFF
    )
    last = _aware(health.last_refresh_failure_at)
    if last is None or now - last >= FAILURE_DAY:
        health.refresh_failures += 1
        health.last_refresh_failure_at = now
        health.first_refresh_failure_at = health.first_refresh_failure_at or now
    logger.warning(
        "refresh_failing type=%s reason=%s failed_days=%d",
        row.integration_type,
        error.reason.value,
        health.refresh_failures,
    )
    if health.refresh_failures >= GIVE_UP_DAYS:
        to, reason = IntegrationStatus.NEEDS_RECONNECT, REFRESH_FAILED
    elif row.status == IntegrationStatus.ACTIVE.value and (_aware(credential.expires_at) or now) <= now:
        to, reason = IntegrationStatus.DEGRADED, REFRESH_FAILING
    else:
        return
    await lifecycle.transition(session, row.id, to, reason, actor=lifecycle.SYSTEM_HEALTH)


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment
