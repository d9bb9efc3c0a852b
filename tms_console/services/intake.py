"""Ticket event intake: store the event, one delivery per integration that wants it, and their jobs.

All of it is one statement: the event row, its delivery rows and their queue jobs commit together or
not at all, so a crash at any point loses nothing the TMS was told was accepted and schedules nothing
twice. A repeated event id answers the answer it got the first time and stores nothing. The issue asks
for that within 24 hours; here it holds for as long as the event row is kept (an id is unique per
tenant), so a later cleanup job must keep events at least 24 hours.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tms_console.domain.errors import NotFound, ServiceError
from tms_console.domain.events import wants_event
from tms_console.domain.reasons import Reason
from tms_console.domain.status import IntegrationStatus
from tms_console.persistence import ticket_events
from tms_console.security.identity import Identity
from tms_console.services.tenancy import parse_uuid, require_tenant
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
    project = parse_uuid(project_id)
    pause = get_settings().intake_commit_pause_seconds  # test hook (refused in production)
    # Two statements, each atomic on its own: no transaction is needed (but one to pause in, for the test).
    async with unit_of_work(autocommit=not pause) as session:
        found = await ticket_events.recipients(
            session, tenant_id=identity.tenant_id, project_id=project, event_type=event.type
        )
        if found is None:
            raise NotFound(Reason.NOT_FOUND, "not found")
        targets = [r for r in found if r.is_hook or _receives(r, event.type)]
        answer = Accepted(event.event_id, len(targets))
        stored = ticket_events.NewEvent(
            identity.tenant_id,
            project,
            event.event_id,
            event.type,
            event.ticket_id,
            event.payload,
            answer={"event_id": answer.event_id, "deliveries": answer.deliveries},
        )
        if not await ticket_events.store_event(session, stored, targets):
            return await _first_answer(session, identity.tenant_id, project, event.event_id)
        if pause:
            await _pause_before_commit(pause)
    logger.info("event_accepted type=%s deliveries=%d", event.type, answer.deliveries)
    return answer


def _receives(integration: ticket_events.Recipient, event_type: str) -> bool:
    """Whether an integration receives this type: a disabled one receives nothing."""
    disabled = integration.status == IntegrationStatus.DISABLED.value
    return not disabled and wants_event(integration.meta, event_type)


async def _first_answer(
    session: AsyncSession, tenant_id: uuid.UUID, project_id: uuid.UUID, event_id: str
) -> Accepted:
    """The answer the first post of this event id got (an id is unique per tenant, not per project)."""
    stored = await ticket_events.find_event(session, tenant_id=tenant_id, event_id=event_id)
    if stored is None or stored.project_id != project_id:
        raise EventIdReused(Reason.INVALID_INPUT, "this event id was already used for another project")
    logger.info("event_repeated deliveries=%s", stored.answer.get("deliveries"))
    return Accepted(str(stored.answer["event_id"]), int(stored.answer["deliveries"]))


async def _pause_before_commit(pause: float) -> None:
    """Test hook (refused in production): hold the transaction open so a test can kill the process here."""
    logger.warning("intake_paused_before_commit seconds=%s", pause)
    await asyncio.sleep(pause)
