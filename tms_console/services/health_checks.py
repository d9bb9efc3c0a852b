"""Periodic health checks: each integration's provider is asked, at most once per HEALTH_CHECK_MINUTES, the
cheapest authoritative question about the install (the provider's `probe` hook: Slack `auth.test`, Discord
the webhook, Teams and Google Chat the chosen channel or space after a refresh when due, Telegram `getMe` and
`getChat`, WhatsApp the phone number; a webhook has none: its deliveries are its health).

Scheduling (`schedule`, every HEALTH_SCHEDULE_SECONDS from one periodic job): each integration's slot is a
fixed offset into the interval (a hash of its id), so checks spread evenly over it, never as a herd; every
tick defers a job for each slot falling in its window, at the slot's time, under a queueing lock (one queued
per integration). Integrations whose deliveries succeeded within the interval are skipped (the delivery
said it all), and so are the ones waiting for a person (`needs_reconnect`, `disabled`). The same tick
defers the proactive token refreshes that fall due (services/refresh.py). Calls to one provider are paced
across all workers (services/pacing.py).

What a check changes (through the lifecycle's `transition`, actor "Health check"):
- refused (the token, bot, webhook or target is gone): `needs_reconnect` at once, with the provider's reason
  (`invalid_auth`, `access_revoked`, `webhook_deleted`, `bot_removed`, `chat_not_found`, ...);
- failed for now (unreachable, 5xx, 429, an unexpected answer): counted, no change; after three checks in a
  row an active integration reads `degraded` (`check_failing`);
- passed: the count resets, and a `degraded` status that a check or a refresh set (`check_failing`,
  `refresh_failing`) goes back to `active` with reason `recovered`.
The recovery rule is deliberately narrow. A passing check never clears `needs_reconnect`: that waits for the
agent's reconnect, which also resumes the deliveries it paused (and such integrations are not checked at
all). Nor does it clear a `degraded` that failing deliveries set: a working token and channel do not prove
the messages go through (a rejected template, a message the platform refuses); the next delivered message
clears that one.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

from tms_console.domain.messages import Outcome, SendResult
from tms_console.domain.reasons import Reason
from tms_console.domain.status import IntegrationStatus
from tms_console.oauth.http import api_for
from tms_console.persistence import integration_health
from tms_console.persistence.job_queue import CHECK_TASK, REFRESH_TASK, defer_health_jobs
from tms_console.providers.config import resolve
from tms_console.providers.registry import PROVIDERS, get_provider, hooks_for
from tms_console.security.keyring import DecryptError
from tms_console.services import credentials, lifecycle, pacing, refresh, tokens
from tms_console.services.unit_of_work import unit_of_work
from tms_console.settings import get_settings

logger = logging.getLogger("tms_console.health")
DEGRADE_AFTER = 3  # checks in a row that failed for now
CHECK_FAILING = "check_failing"
# Degraded states a passing check (or refresh) may end: the ones health checks and refreshes set.
HEALTH_DEGRADED = frozenset({CHECK_FAILING, refresh.REFRESH_FAILING})


def interval() -> timedelta:
    return timedelta(minutes=get_settings().health_check_minutes)


async def schedule(start: datetime) -> tuple[int, int]:
    """Defer the checks whose slot falls in the tick starting at `start`, and the refreshes due by its end;
    how many of each."""
    end = start + timedelta(seconds=get_settings().health_schedule_seconds)
    probing = [key for key, spec in PROVIDERS.items() if hooks_for(spec).probes]
    refreshing = [key for key, spec in PROVIDERS.items() if spec.refresh]
    idle = [key for key, spec in PROVIDERS.items() if spec.refresh_when_idle]
    now = datetime.now(UTC)
    async with unit_of_work() as session:
        checks = await integration_health.due_checks(
            session, types=probing, interval=interval(), start=start, end=end
        )
        refreshes = await integration_health.due_refreshes(
            session, types=refreshing, idle_types=idle, lead=refresh.LEAD, idle=refresh.IDLE, now=now, end=end
        )
        counts = (
            await defer_health_jobs(session, CHECK_TASK, checks),
            await defer_health_jobs(session, REFRESH_TASK, refreshes),
        )
    if any(counts):
        logger.info("health_scheduled checks=%d refreshes=%d", *counts)
    return counts


async def check(integration_id: uuid.UUID) -> SendResult | None:
    """Check one integration with its provider and record the result; None when nothing was asked (gone,
    waiting for a person, no probe, or nothing to check yet)."""
    now = datetime.now(UTC)
    probed = await _probe(integration_id, now)
    if probed is None:
        return None
    await _record(integration_id, *probed, now)
    return probed[0]


async def _probe(integration_id: uuid.UUID, now: datetime) -> tuple[SendResult, datetime] | None:
    """Refresh first when due (Teams, Google), then ask the provider; the answer and the credentials'
    `updated_at` it was asked with. No transaction stays open meanwhile."""
    async with unit_of_work() as session:
        found = await integration_health.read(session, integration_id)
    row, credential = found if found else (None, None)
    spec = get_provider(row.integration_type) if row else None
    if row is None or credential is None or spec is None or row.status not in integration_health.WATCHED:
        return None
    hooks = hooks_for(spec)
    if not hooks.probes:
        return None
    if spec.refresh and refresh.is_due(spec, credential, now):
        await refresh.refresh(integration_id, now=now)
        async with unit_of_work() as session:
            found = await integration_health.read(session, integration_id)
        row, credential = found if found else (None, None)
        if row is None or credential is None or row.status not in integration_health.WATCHED:
            return None
        if tokens.refresh_due(credential):  # the refresh failed and the token expired: nothing to ask with
            return SendResult(Outcome.RETRY, reason=refresh.REFRESH_FAILING), credential.updated_at
    try:
        bundle = credentials.open_bundle(row, credential)
    except DecryptError:
        return None  # the card already says reconnect (unreadable credentials)
    await pacing.wait_turn(spec.key)
    try:
        result = await hooks.probe(api_for(resolve(spec)), bundle, dict(row.meta or {}))
    except Exception as exc:  # the contract says probes never raise; a bug must not look like an outage
        logger.warning("health_probe_raised type=%s error=%s", spec.key, type(exc).__name__)
        result = SendResult(Outcome.RETRY, reason="probe_error")
    return None if result is None else (result, credential.updated_at)


async def _record(integration_id: uuid.UUID, result: SendResult, asked_with: datetime, now: datetime) -> None:
    """The check's row and the status change it leads to, in one transaction; nothing when the credentials
    changed since the provider was asked (a reconnect or a refresh meanwhile: the answer is about old
    ones)."""
    async with unit_of_work() as session:
        found = await integration_health.locked(session, integration_id)
        if found is None or found[1] is None or found[1].updated_at != asked_with:
            return
        row, _, health = found
        health.last_checked_at, health.last_check_reason = now, (result.reason[:50] or None)
        change: tuple[IntegrationStatus, str] | None = None
        if result.outcome is Outcome.DELIVERED:
            health.check_failures, health.last_check_reason = 0, None
            if row.status == IntegrationStatus.DEGRADED.value and row.status_reason in HEALTH_DEGRADED:
                change = (IntegrationStatus.ACTIVE, refresh.RECOVERED)
        elif result.outcome is Outcome.AUTH_FAILED:
            health.check_failures = 0
            change = (IntegrationStatus.NEEDS_RECONNECT, result.reason[:50] or Reason.NEEDS_RECONNECT.value)
        else:
            health.check_failures += 1
            if health.check_failures >= DEGRADE_AFTER and row.status == IntegrationStatus.ACTIVE.value:
                change = (IntegrationStatus.DEGRADED, CHECK_FAILING)
        if change is not None and row.status in integration_health.WATCHED:
            await lifecycle.transition(session, row.id, *change, actor=lifecycle.SYSTEM_HEALTH)
    logger.info(
        "health_checked type=%s outcome=%s reason=%s",
        row.integration_type,
        result.outcome.value,
        result.reason,
    )
