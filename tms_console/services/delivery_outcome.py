"""What one delivery attempt leads to, recorded in one transaction (DELIVERY.md's retry policy).

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
from tms_console.persistence.deliveries import DeliveryRecord
from tms_console.persistence.job_queue import DeliveryJob, defer_retry
from tms_console.persistence.models import RestHook, utcnow
from tms_console.services import lifecycle, rest_hooks
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


async def settle(delivery_id: uuid.UUID, number: int, attempt: Attempt) -> None:
    """Record attempt `number` and what follows, unless it was recorded or the delivery settled meanwhile."""
    async with unit_of_work() as session:
        record = await deliveries.load(session, delivery_id, lock=True)
        if record is None or not is_due(record, number):
            return
        changes = await _next_attempt(session, record, attempt.result, number)
        await deliveries.update(session, record.delivery, changes)
        await deliveries.add_attempt(
            session, _log_row(record, attempt, number, record.delivery.next_attempt_at)
        )
        await _keep_thread(session, record, attempt.result)
        if record.hook is not None:
            await _change_hook(session, record.hook, attempt.result)
        else:
            await _change_integration(session, record, attempt.result)
            await keep_health(session, record, at=attempt.started_at)


def _log_row(
    record: DeliveryRecord, attempt: Attempt, number: int, next_at: datetime | None
) -> dict[str, object]:
    """The attempt's delivery log row."""
    result = attempt.result
    return {
        "delivery_id": record.delivery.id,
        "attempt": number,
        "started_at": attempt.started_at,
        "duration_ms": attempt.duration_ms,
        "outcome": result.outcome.value,
        "http_status": result.http_status,
        "reason": result.reason[:50] or None,
        "retry_after": result.retry_after,
        "detail": result.detail[:1024] or None,
        "next_attempt_at": next_at,
    }


async def _next_attempt(
    session: AsyncSession, record: DeliveryRecord, result: SendResult, number: int
) -> dict[str, object]:
    """The delivery's changes for this outcome (`next_attempt_at` set when it is retried, after queueing
    the next job)."""
    delivery, now = record.delivery, utcnow()
    changes: dict[str, object] = {
        "attempts": number,
        "updated_at": now,
        "last_reason": result.reason[:50] or None,
        "next_attempt_at": None,
    }
    if result.outcome is Outcome.DELIVERED:
        changes["delivered_at"] = now
    if result.outcome is not Outcome.RETRY:
        changes["status"] = FINAL_STATUS[result.outcome].value
        return changes
    settings = get_settings()
    delay = next_delay(number, retry_after=result.retry_after, scale=settings.retry_schedule_scale)
    if delay is None:
        changes["status"] = DeliveryStatus.FAILED.value
        return changes
    next_at = now + timedelta(seconds=delay)
    changes["next_attempt_at"] = next_at
    job = DeliveryJob(delivery.id, delivery.integration_id, str(record.event.payload["ticket"]["id"]))
    await defer_retry(session, job, attempt=number + 1, at=next_at)
    return changes


async def _keep_thread(session: AsyncSession, record: DeliveryRecord, result: SendResult) -> None:
    if result.outcome is Outcome.DELIVERED and result.thread_handle:
        await deliveries.keep_thread_handle(
            session,
            integration_id=record.delivery.integration_id,
            ticket_id=str(record.event.payload["ticket"]["id"]),
            handle=result.thread_handle[:200],
        )


async def _change_integration(session: AsyncSession, record: DeliveryRecord, result: SendResult) -> None:
    """The integration's status after this outcome: credentials refused -> needs reconnect; a webhook
    gone -> disabled; a delivery failed for good otherwise -> degraded; delivered while degraded -> active."""
    row = record.integration
    if row is None:
        return
    change = INTEGRATION_CHANGES.get(result.outcome)
    if change is not None:
        status, reason = change[0], result.reason or change[1].value
    elif record.delivery.status == DeliveryStatus.FAILED.value:
        status, reason = IntegrationStatus.DEGRADED, result.reason or DELIVERY_FAILED
    elif result.outcome is Outcome.DELIVERED and row.status == IntegrationStatus.DEGRADED.value:
        status, reason = IntegrationStatus.ACTIVE, RECOVERED
    else:
        return
    await lifecycle.transition(session, row.id, status, reason, actor=lifecycle.SYSTEM_DELIVERY)


async def keep_health(session: AsyncSession, record: DeliveryRecord, *, at: datetime) -> None:
    """The integration's last outcome is this delivery's new status (pending after a failure: retrying);
    after the integration row's changes, keeping the lock order. Nothing for an uninstalled integration."""
    delivery = record.delivery
    if record.integration is None:
        return
    pending = delivery.status == DeliveryStatus.PENDING.value
    await delivery_health.record(
        session,
        integration_id=delivery.integration_id,
        at=at,
        status=delivery_health.RETRYING if pending else delivery.status,
        reason=delivery.last_reason,
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
