"""What one delivery attempt leads to, recorded atomically (DELIVERY.md's retry policy).

DELIVERED: done. RETRY: the next attempt on the schedule (a new job, same lock), or failed when the
schedule is exhausted. REJECTED: failed at once. AUTH_FAILED: the integration needs a reconnect and
the delivery waits (paused). GONE: a webhook asked to be removed: it is disabled, the delivery failed;
for a REST hook subscription (Zapier, Make), 410 means "unsubscribe": the subscription is deleted.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from tms_console.domain.messages import Outcome, SendResult
from tms_console.domain.reasons import Reason
from tms_console.domain.retry_schedule import next_delay
from tms_console.domain.status import IntegrationStatus
from tms_console.domain.ticket_events import DeliveryStatus
from tms_console.persistence import deliveries, delivery_health
from tms_console.persistence.deliveries import AttemptRecord, DeliveryRecord
from tms_console.persistence.job_queue import DeliveryJob, defer_retry
from tms_console.persistence.models import RestHook, utcnow
from tms_console.services import lifecycle, metrics, rest_hooks
from tms_console.services.unit_of_work import unit_of_work
from tms_console.settings import get_settings

logger = logging.getLogger("tms_console.delivery")
RECOVERED = "recovered"  # a delivery went through again
DELIVERY_FAILED = "delivery_failed"
# What an outcome makes of the integration: its new status, and the reason when the platform gave none.
INTEGRATION_CHANGES = {
    Outcome.AUTH_FAILED: (IntegrationStatus.NEEDS_RECONNECT, Reason.NEEDS_RECONNECT),
    Outcome.GONE: (IntegrationStatus.DISABLED, Reason.ENDPOINT_GONE),
}
FINAL_STATUS = {
    Outcome.DELIVERED: DeliveryStatus.DELIVERED,
    Outcome.REJECTED: DeliveryStatus.FAILED,
    Outcome.GONE: DeliveryStatus.FAILED,
    Outcome.AUTH_FAILED: DeliveryStatus.PAUSED,
}


@dataclass(frozen=True)
class Attempt:
    result: SendResult
    started_at: datetime
    duration_ms: int


def is_due(record: DeliveryRecord, number: int) -> bool:
    """Whether attempt `number` is the delivery's next one (pending, and attempts 1..number-1 recorded)."""
    delivery = record.delivery
    return delivery.status == DeliveryStatus.PENDING.value and delivery.attempts == number - 1


async def settle(record: DeliveryRecord, number: int, attempt: Attempt) -> None:
    """Record attempt `number` and what follows, unless it was recorded or the delivery settled meanwhile.

    The common outcomes (delivered, a retry queued) are one statement on its own: the attempt, the
    delivery, the thread handle, the integration's health, the next attempt's job. An outcome that
    changes the integration's status (or removes a REST hook) records the same, then those changes and
    their audit event, in one transaction.
    """
    result = attempt.result
    status, _ = _next_status(result, number, attempt.started_at)
    change = _integration_change(record, result, status)
    gone_hook = record.hook is not None and result.outcome is Outcome.GONE
    if change is None and not gone_hook:
        async with unit_of_work(autocommit=True) as session:
            recorded = await deliveries.record_attempt(
                session, _recorded(record, number, attempt, health=True)
            )
        if recorded:
            _count(record, status)
        return
    async with unit_of_work() as session:
        if not await deliveries.record_attempt(session, _recorded(record, number, attempt, health=False)):
            return
        if record.hook is not None:
            await _change_hook(session, record.hook, result)
        else:
            if change is not None and record.integration is not None:
                to, reason = change
                await lifecycle.transition(
                    session, record.integration.id, to, reason, actor=lifecycle.SYSTEM_DELIVERY
                )
            await keep_health(session, record, status=status, reason=result.reason, at=attempt.started_at)
    _count(record, status)


def _count(record: DeliveryRecord, status: DeliveryStatus) -> None:
    """The attempt in the metrics, once recorded (a retry still on its schedule counts as retrying)."""
    became = delivery_health.RETRYING if status is DeliveryStatus.PENDING else status.value
    metrics.delivery_recorded(record.delivery.integration_type, became)


def _recorded(record: DeliveryRecord, number: int, attempt: Attempt, *, health: bool) -> AttemptRecord:
    """What recording this attempt writes (the integration's health too when `health`)."""
    result, now = attempt.result, utcnow()
    status, next_at = _next_status(result, number, now)
    reason = result.reason[:50] or None
    changes = {
        "status": status.value,
        "updated_at": now,
        "next_attempt_at": next_at,
        "last_reason": reason,
        "delivered_at": now if result.outcome is Outcome.DELIVERED else None,
    }
    delivery, ticket_id = record.delivery, str(record.event.payload["ticket"]["id"])
    thread = result.thread_handle[:200] if result.outcome is Outcome.DELIVERED else ""
    return AttemptRecord(
        delivery.id,
        number,
        changes,
        _log_row(attempt),
        thread=(ticket_id, thread) if thread else None,
        health=_health(record, status, reason, at=attempt.started_at) if health else None,
        retry=DeliveryJob(delivery.id, delivery.integration_id, ticket_id) if next_at else None,
    )


def _log_row(attempt: Attempt) -> dict[str, object]:
    """The attempt's delivery log row (the columns of deliveries.LOG_COLUMNS)."""
    result = attempt.result
    return {
        "started_at": attempt.started_at,
        "duration_ms": attempt.duration_ms,
        "outcome": result.outcome.value,
        "http_status": result.http_status,
        "reason": result.reason[:50] or None,
        "retry_after": result.retry_after,
        "detail": result.detail[:1024] or None,
    }


def _next_status(result: SendResult, number: int, now: datetime) -> tuple[DeliveryStatus, datetime | None]:
    """The delivery's status after this outcome, and when its next attempt is due (retried: pending)."""
    if result.outcome is not Outcome.RETRY:
        return FINAL_STATUS[result.outcome], None
    settings = get_settings()
    delay = next_delay(number, retry_after=result.retry_after, scale=settings.retry_schedule_scale)
    if delay is None:
        return DeliveryStatus.FAILED, None
    return DeliveryStatus.PENDING, now + timedelta(seconds=delay)


def _health(
    record: DeliveryRecord, status: DeliveryStatus, reason: str | None, *, at: datetime
) -> dict[str, object] | None:
    """The integration's last outcome is the delivery's new status (pending after a failure: retrying);
    nothing for a REST hook or an uninstalled integration."""
    if record.integration is None:
        return None
    return delivery_health.values(at, _health_status(status), reason)


def _health_status(status: DeliveryStatus) -> str:
    return delivery_health.RETRYING if status is DeliveryStatus.PENDING else status.value


def _integration_change(
    record: DeliveryRecord, result: SendResult, status: DeliveryStatus
) -> tuple[IntegrationStatus, str] | None:
    """The integration's status after this outcome (`status`: the delivery's new one), and why:
    credentials refused -> needs reconnect; a webhook gone -> disabled; a delivery failed for good
    otherwise -> degraded; delivered while degraded -> active; None: no change."""
    row = record.integration
    if row is None:
        return None
    change = INTEGRATION_CHANGES.get(result.outcome)
    if change is not None:
        return change[0], result.reason or change[1].value
    if status is DeliveryStatus.FAILED:
        return IntegrationStatus.DEGRADED, result.reason or DELIVERY_FAILED
    if result.outcome is Outcome.DELIVERED and row.status == IntegrationStatus.DEGRADED.value:
        return IntegrationStatus.ACTIVE, RECOVERED
    return None


async def keep_health(
    session: AsyncSession, record: DeliveryRecord, *, status: DeliveryStatus, reason: str | None, at: datetime
) -> None:
    """Record the delivery's new status as the integration's last outcome, after the integration row's
    changes (keeping the lock order). Nothing for an uninstalled integration."""
    if record.integration is not None:
        await delivery_health.record(
            session,
            integration_id=record.delivery.integration_id,
            at=at,
            status=_health_status(status),
            reason=reason,
        )


async def _change_hook(session: AsyncSession, hook: RestHook, result: SendResult) -> None:
    """A REST hook's URL answering 410 removes the subscription (the REST Hooks contract)."""
    if result.outcome is Outcome.GONE:
        worker = lifecycle.SYSTEM_DELIVERY
        await rest_hooks.remove_gone(session, hook, actor_id=worker.id, actor_name=worker.name)


async def resume_paused(session: AsyncSession, integration_id: uuid.UUID) -> int:
    """A reconnected integration's paused deliveries go back in the queue, each ticket's in order, in the
    transaction that saved the new credentials; how many."""
    now = utcnow()
    waiting = await deliveries.paused(session, integration_id=integration_id)
    for delivery, ticket_id in waiting:
        delivery.status, delivery.last_reason, delivery.updated_at = DeliveryStatus.PENDING.value, None, now
        delivery.next_attempt_at = now
        job = DeliveryJob(delivery.id, integration_id, ticket_id)
        await defer_retry(session, job, attempt=delivery.attempts + 1, at=now)
    if waiting:
        # Still failing: the next delivered outcome clears it, not the reconnect.
        await delivery_health.mark_resumed(session, integration_id=integration_id)
        logger.info("deliveries_resumed count=%d", len(waiting))
    return len(waiting)
