"""The delivery log: list a project's deliveries, read one with its attempts, resend, retry failed,
and the retention cleanup. Tenancy as everywhere: the project must be the caller's tenant's; another
tenant's delivery ids answer exactly like missing ones.

Resend semantics: a resend is a new delivery of the same ticket event to the same integration. It
starts afresh (pending, attempt 1, the whole retry schedule, a new `webhook-id`, since receivers drop
repeated ids and a resend is asked for on purpose), queued in the transaction that stores it, behind
that ticket's other deliveries to the integration. The old delivery and its attempts stay in the log
as they were. A resend is refused (409) while this event has a pending or paused delivery to the
integration, and when the integration was uninstalled, is disabled or needs a reconnect (a reconnect
resumes paused deliveries by itself). "Retry failed" resends every event whose latest delivery to the
integration failed and was created since a time, at most MAX_RETRY_FAILED at once, oldest first; an
event resent already counts by its resend, so asking twice queues nothing twice.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from tms_console.domain.delivery_reasons import explain
from tms_console.domain.errors import NotFound, ServiceError
from tms_console.domain.events import EVENT_TYPES
from tms_console.domain.reasons import Reason
from tms_console.domain.status import IntegrationStatus
from tms_console.domain.ticket_events import DeliveryStatus
from tms_console.persistence import delivery_log, repository, ticket_events
from tms_console.persistence.delivery_log import LogFilter, LogRow
from tms_console.persistence.job_queue import DeliveryJob, defer_deliveries
from tms_console.persistence.models import (
    Delivery,
    DeliveryAttempt,
    ProjectIntegration,
    TicketEvent,
    utcnow,
)
from tms_console.security.identity import Identity
from tms_console.services import audit
from tms_console.services.tenancy import parse_uuid, require_project
from tms_console.services.unit_of_work import unit_of_work
from tms_console.settings import get_settings

logger = logging.getLogger("tms_console.delivery_log")
MAX_PAGE_SIZE = 100
MAX_PAGE = 10_000
MAX_RETRY_FAILED = 1000
PURGE_BATCH = 500
PURGE_MAX_BATCHES = 200  # one run deletes at most 100,000 events; the next run continues
MIN_RETENTION = timedelta(days=1)  # the intake's idempotency needs an event for 24 hours


class Refused(ServiceError):
    """The delivery cannot be resent now (the reason says why); nothing was queued."""

    status_code = 409


@dataclass(frozen=True)
class LogQuery:
    """Filters and page of a listing; every field is checked by `list_deliveries`."""

    integration_type: str | None = None
    status: str | None = None
    event_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    page: int = 1
    page_size: int = 25


@dataclass(frozen=True)
class DeliverySummary:
    id: str
    integration_type: str
    event_type: str
    event_id: str
    ticket_number: str
    ticket_subject: str
    status: str
    attempts: int
    last_reason: str | None
    explanation: str  # the last reason (or the status) in plain words
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True)
class AttemptView:
    attempt: int
    started_at: datetime
    duration_ms: int
    outcome: str
    http_status: int | None
    reason: str | None
    explanation: str
    detail: str  # at most 1 KiB of the answer, secrets masked when it was recorded
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class DeliveryDetail:
    delivery: DeliverySummary
    attempts: list[AttemptView]


@dataclass(frozen=True)
class LogPage:
    page: int
    page_size: int
    total: int
    deliveries: list[DeliverySummary]


def _invalid(field: str, detail: str) -> ServiceError:
    return ServiceError(Reason.INVALID_INPUT, f"{field}: {detail}")


def _checked(query: LogQuery) -> LogFilter:
    """The query as SQL filters, or a 400 naming the first bad field."""
    if query.status is not None and query.status not in {s.value for s in DeliveryStatus}:
        raise _invalid("status", "one of " + ", ".join(s.value for s in DeliveryStatus))
    if query.event_type is not None and query.event_type not in EVENT_TYPES:
        raise _invalid("event_type", "one of " + ", ".join(EVENT_TYPES))
    kind = query.integration_type
    if kind is not None and (not isinstance(kind, str) or len(kind) > 50):
        raise _invalid("integration", "an integration type")
    if not (isinstance(query.page, int) and 1 <= query.page <= MAX_PAGE):
        raise _invalid("page", f"1 to {MAX_PAGE}")
    if not (isinstance(query.page_size, int) and 1 <= query.page_size <= MAX_PAGE_SIZE):
        raise _invalid("page_size", f"1 to {MAX_PAGE_SIZE}")
    return LogFilter(kind, query.status, query.event_type, _aware(query.since), _aware(query.until))


def _aware(moment: datetime | None) -> datetime | None:
    """A time without a zone is read as UTC."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def summary(row: LogRow) -> DeliverySummary:
    d = row.delivery
    return DeliverySummary(
        id=str(d.id),
        integration_type=d.integration_type,
        event_type=row.event_type,
        event_id=row.event_id,
        ticket_number=row.ticket_number,
        ticket_subject=row.ticket_subject,
        status=d.status,
        attempts=d.attempts,
        last_reason=d.last_reason,
        explanation=explain(d.last_reason, status=d.status),
        next_attempt_at=d.next_attempt_at,
        created_at=d.created_at,
        delivered_at=d.delivered_at,
    )


def attempt_view(row: DeliveryAttempt) -> AttemptView:
    return AttemptView(
        attempt=row.attempt,
        started_at=row.started_at,
        duration_ms=row.duration_ms,
        outcome=row.outcome,
        http_status=row.http_status,
        reason=row.reason,
        explanation=explain(row.reason, status=row.outcome),
        detail=row.detail or "",
        next_attempt_at=row.next_attempt_at,
    )


async def list_deliveries(identity: Identity, project_id: str, query: LogQuery) -> LogPage:
    """One page of the project's deliveries, newest first.

    Raises:
        NotFound: not a project of the caller's tenant.
        ServiceError: a filter or the page is invalid (the detail names it).
    """
    where = _checked(query)
    async with unit_of_work() as session:
        project = await require_project(session, identity, project_id)
        rows, total = await delivery_log.list_deliveries(
            session,
            tenant_id=identity.tenant_id,
            project_id=project.id,
            where=where,
            offset=(query.page - 1) * query.page_size,
            limit=query.page_size,
        )
    return LogPage(query.page, query.page_size, total, [summary(row) for row in rows])


async def get_delivery(identity: Identity, project_id: str, delivery_id: str) -> DeliveryDetail:
    """One delivery of the project with all its attempts, first attempt first (404 when not the
    project's)."""
    async with unit_of_work() as session:
        row = await _own_delivery(session, identity, project_id, delivery_id)
        tries = await delivery_log.attempts(session, delivery_id=row.delivery.id)
    return DeliveryDetail(summary(row), [attempt_view(a) for a in tries])


async def _own_delivery(
    session: AsyncSession, identity: Identity, project_id: str, delivery_id: str
) -> LogRow:
    project = await require_project(session, identity, project_id)
    row = await delivery_log.get_delivery(
        session, tenant_id=identity.tenant_id, project_id=project.id, delivery_id=parse_uuid(delivery_id)
    )
    if row is None:
        raise NotFound(Reason.NOT_FOUND, "not found")
    return row


def _require_sendable(row: ProjectIntegration | None) -> ProjectIntegration:
    if row is None:
        raise Refused(Reason.UNINSTALLED, "the integration was uninstalled; install it again first")
    if row.status == IntegrationStatus.DISABLED.value:
        raise Refused(Reason.INTEGRATION_DISABLED, "the integration is disabled; reconnect it first")
    if row.status == IntegrationStatus.NEEDS_RECONNECT.value:
        raise Refused(Reason.NEEDS_RECONNECT, "the integration needs a reconnect")
    return row


async def _queue_again(session: AsyncSession, originals: list[tuple[Delivery, str]]) -> list[uuid.UUID]:
    """New pending deliveries of the same events and integrations, with their jobs, in this transaction."""
    fresh = [
        (
            Delivery(
                ticket_event_id=d.ticket_event_id,
                tenant_id=d.tenant_id,
                project_id=d.project_id,
                integration_id=d.integration_id,
                integration_type=d.integration_type,
            ),
            ticket_id,
        )
        for d, ticket_id in originals
    ]
    await ticket_events.add_deliveries(session, [d for d, _ in fresh])
    await defer_deliveries(
        session, [DeliveryJob(d.id, d.integration_id, ticket_id) for d, ticket_id in fresh]
    )
    return [d.id for d, _ in fresh]


async def resend(
    identity: Identity, project_id: str, delivery_id: str, *, origin: audit.Origin = audit.NO_ORIGIN
) -> str:
    """Queue the delivery's event to its integration again, as a new delivery; the new delivery's id.

    Raises:
        NotFound: not a delivery of a project of the caller's tenant.
        Refused: still under way, or the integration cannot receive (see the module's docstring).
    """
    async with unit_of_work() as session:
        row = await _own_delivery(session, identity, project_id, delivery_id)
        original = row.delivery
        integration = await delivery_log.integration_by_id(
            session,
            tenant_id=identity.tenant_id,
            project_id=original.project_id,
            integration_id=original.integration_id,
        )
        integration = _require_sendable(integration)
        busy = await delivery_log.unsettled_exists(
            session, ticket_event_id=original.ticket_event_id, integration_id=original.integration_id
        )
        if busy:
            raise Refused(Reason.DELIVERY_PENDING, "this event is still being delivered to the integration")
        ticket_id = await _ticket_id(session, original)
        [new_id] = await _queue_again(session, [(original, ticket_id)])
        await audit.record_by(session, identity, integration, Reason.DELIVERY_RESENT, origin=origin)
    logger.info("delivery_resent type=%s actor=%s", original.integration_type, identity.user_id)
    return str(new_id)


async def _ticket_id(session: AsyncSession, delivery: Delivery) -> str:
    event = await session.get(TicketEvent, delivery.ticket_event_id)
    assert event is not None  # a delivery never outlives its event (cascade)
    return str(event.payload["ticket"]["id"])


async def retry_failed(
    identity: Identity,
    project_id: str,
    integration_type: str,
    since: datetime,
    *,
    origin: audit.Origin = audit.NO_ORIGIN,
) -> int:
    """Resend every event whose latest delivery to this integration failed since `since`; how many
    (at most MAX_RETRY_FAILED, oldest first: ask again for the rest).

    Raises:
        NotFound: no such integration in a project of the caller's tenant.
        Refused: the integration is disabled or needs a reconnect.
    """
    if not isinstance(integration_type, str) or not isinstance(since, datetime):
        raise _invalid("since", "a date and time")
    async with unit_of_work() as session:
        project = await require_project(session, identity, project_id)
        found = await repository.get_integration(
            session,
            tenant_id=identity.tenant_id,
            project_id=project.id,
            integration_type=integration_type[:50],
            lock=True,
        )
        if found is None:
            raise NotFound(Reason.NOT_FOUND, "not found")
        integration = _require_sendable(found[0])
        failed = await delivery_log.latest_failed(
            session, integration_id=integration.id, since=_aware(since) or since, limit=MAX_RETRY_FAILED
        )
        queued = await _queue_again(session, failed)
        if queued:
            await audit.record_by(session, identity, integration, Reason.DELIVERIES_RETRIED, origin=origin)
    logger.info(
        "deliveries_retried type=%s count=%d actor=%s", integration_type, len(queued), identity.user_id
    )
    return len(queued)


def log_start(now: datetime | None = None) -> datetime:
    """The oldest time the log keeps: DELIVERY_LOG_DAYS ago, never less than a day."""
    retention = max(timedelta(days=get_settings().delivery_log_days), MIN_RETENTION)
    return (now or utcnow()) - retention


async def purge_old_events(*, now: datetime | None = None) -> int:
    """Delete ticket events older than DELIVERY_LOG_DAYS (never under a day) whose deliveries all
    settled, in batches of PURGE_BATCH, each its own transaction; how many events went."""
    cutoff = log_start(now)
    removed = 0
    for _ in range(PURGE_MAX_BATCHES):
        async with unit_of_work() as session:
            count = await delivery_log.purge_settled_events(session, cutoff=cutoff, batch=PURGE_BATCH)
        removed += count
        if count < PURGE_BATCH:
            break
    if removed:
        logger.info("delivery_log_purged events=%d", removed)
    return removed
