"""Ticket event intake: store the event, one delivery per integration that wants it, and their jobs.

All of it is one transaction: the event row, its delivery rows and their queue jobs commit together or
not at all, so a crash at any point loses nothing the TMS was told was accepted and schedules nothing
twice. A repeated event id answers the answer it got the first time and stores nothing. The issue asks
for that within 24 hours; here it holds for as long as the event row is kept (an id is unique per
tenant), so a later cleanup job must keep events at least 24 hours.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from tms_console.domain.errors import ServiceError
from tms_console.domain.events import wants_event
from tms_console.domain.reasons import Reason
from tms_console.domain.status import IntegrationStatus
from tms_console.persistence import rest_hooks, ticket_events
from tms_console.persistence.job_queue import DeliveryJob, defer_deliveries
from tms_console.persistence.models import Delivery
from tms_console.security.identity import Identity
from tms_console.services.tenancy import require_project, require_tenant
from tms_console.services.unit_of_work import unit_of_work
from tms_console.settings import get_settings

logger = logging.getLogger("tms_console.intake")


class EventIdReused(ServiceError):
    """The tenant already used this event id for another project."""

    status_code = 409


@dataclass(frozen=True)
class IncomingEvent:
    """A validated event: its id, type, the ticket's id and the whole body as JSON."""

    event_id: str
    type: str
    ticket_id: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Accepted:
    event_id: str
    deliveries: int


async def accept_event(identity: Identity, tenant_id: str, project_id: str, event: IncomingEvent) -> Accepted:
    """Accept a ticket event for a project of the caller's tenant (the first answer for a repeated id).

    Raises:
        NotFound: another tenant's project, or no such project.
        EventIdReused: the id was used for another project of the tenant.
        Unavailable: the database is down; nothing was stored.
    """
    require_tenant(identity, tenant_id)
    async with unit_of_work() as session:
        project = await require_project(session, identity, project_id)
        targets = await _targets(session, identity.tenant_id, project.id, event.type)
        answer = Accepted(event.event_id, len(targets))
        row_id = await ticket_events.claim_event(
            session,
            tenant_id=identity.tenant_id,
            project_id=project.id,
            event_id=event.event_id,
            event_type=event.type,
            payload=event.payload,
            answer={"event_id": answer.event_id, "deliveries": answer.deliveries},
        )
        if row_id is None:
            return await _first_answer(session, identity.tenant_id, project.id, event.event_id)
        await _schedule(session, row_id, targets, event.ticket_id)
        await _pause_before_commit()
    logger.info("event_accepted type=%s deliveries=%d", event.type, answer.deliveries)
    return answer


class Recipient(Protocol):
    """What receives a delivery: an integration, or a REST hook subscription (Zapier, Make)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def tenant_id(self) -> uuid.UUID: ...
    @property
    def project_id(self) -> uuid.UUID: ...
    @property
    def integration_type(self) -> str: ...


async def _targets(
    session: AsyncSession, tenant_id: uuid.UUID, project_id: uuid.UUID, event_type: str
) -> list[Recipient]:
    """The project's integrations that receive this type (a disabled one receives nothing), then the
    REST hooks subscribed to it."""
    rows = await ticket_events.project_integrations(session, tenant_id=tenant_id, project_id=project_id)
    hooks = await rest_hooks.matching(
        session, tenant_id=tenant_id, project_id=project_id, event_type=event_type
    )
    integrations: list[Recipient] = [
        row
        for row in rows
        if row.status != IntegrationStatus.DISABLED.value and wants_event(row.meta or {}, event_type)
    ]
    return integrations + list(hooks)


async def _first_answer(
    session: AsyncSession, tenant_id: uuid.UUID, project_id: uuid.UUID, event_id: str
) -> Accepted:
    """The answer the first post of this event id got (an id is unique per tenant, not per project)."""
    stored = await ticket_events.find_event(session, tenant_id=tenant_id, event_id=event_id)
    if stored is None or stored.project_id != project_id:
        raise EventIdReused(Reason.INVALID_INPUT, "this event id was already used for another project")
    logger.info("event_repeated deliveries=%s", stored.answer.get("deliveries"))
    return Accepted(str(stored.answer["event_id"]), int(stored.answer["deliveries"]))


async def _schedule(
    session: AsyncSession, event_row: uuid.UUID, targets: Sequence[Recipient], ticket_id: str
) -> None:
    deliveries = [
        Delivery(
            ticket_event_id=event_row,
            tenant_id=target.tenant_id,
            project_id=target.project_id,
            integration_id=target.id,
            integration_type=target.integration_type,
        )
        for target in targets
    ]
    await ticket_events.add_deliveries(session, deliveries)
    await defer_deliveries(session, [DeliveryJob(d.id, d.integration_id, ticket_id) for d in deliveries])


async def _pause_before_commit() -> None:
    """Test hook (refused in production): hold the transaction open so a test can kill the process here."""
    pause = get_settings().intake_commit_pause_seconds
    if pause:
        logger.warning("intake_paused_before_commit seconds=%s", pause)
        await asyncio.sleep(pause)
