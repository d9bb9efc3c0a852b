"""The audit trail: who did what to which integration, with a reason code. Never a secret."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ParamSpec

from sqlalchemy.ext.asyncio import AsyncSession

from tms_console.domain.errors import Unavailable
from tms_console.domain.reasons import Reason
from tms_console.persistence import repository
from tms_console.persistence.models import IntegrationEvent, ProjectIntegration, utcnow
from tms_console.security.identity import Identity
from tms_console.services.unit_of_work import unit_of_work

logger = logging.getLogger("tms_console.audit")
P = ParamSpec("P")

ACTIONS = {
    Reason.INSTALLED: "installed",
    Reason.RECONNECTED: "reconnected",  # installed again over the same row and account
    Reason.REPLACED: "replaced",  # installed again over the same row, with another account (confirmed)
    Reason.REPLACEMENT_REFUSED: "replacement_refused",
    Reason.REPLACEMENT_EXPIRED: "replacement_expired",
    Reason.UNINSTALLED: "uninstalled",
    Reason.INSTALL_STARTED: "install_started",
    Reason.ADMIN_CONSENT_GRANTED: "admin_consent_granted",
    Reason.HOOK_SUBSCRIBED: "subscribed",  # a REST hook (Zapier, Make) was added
    Reason.HOOK_UNSUBSCRIBED: "unsubscribed",
    Reason.HOOK_GONE: "unsubscribed",  # a REST hook's URL answered 410 to a delivery
    Reason.EVENTS_CHANGED: "events_changed",  # an agent picked which ticket events it receives
    Reason.TARGET_SAVED: "target_changed",  # an agent picked the channel, space, chat or number
    Reason.TEST_SENT: "test_sent",  # a test message was taken (a refused one: `test_sent` with its reason)
    Reason.DELIVERY_RESENT: "delivery_resent",
    Reason.DELIVERIES_RETRIED: "deliveries_retried",
}


@dataclass(frozen=True)
class Origin:
    """Where a person's request came from: the trail's "from where" (never a secret)."""

    ip: str | None = None
    user_agent: str | None = None


NO_ORIGIN = Origin()


async def record(session: AsyncSession, entry: IntegrationEvent) -> None:
    """One audit row (`event(...)`) in the caller's transaction."""
    await repository.record_event(session, entry)


def event_values(
    *,
    tenant_id: str | uuid.UUID,
    project_id: str | uuid.UUID,
    integration_type: str,
    reason: Reason | str,
    actor_id: str | None,
    actor_name: str | None,
    integration_id: uuid.UUID | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    action: str | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """One audit row's column values, as stored (with a new id); `event` makes the row of them.

    `reason` is a Reason, or a free-form code (a status change's: the provider's or a service's words, cut
    to the column's 50 characters); the action is the reason's (ACTIONS) unless named;
    `from_status`/`to_status` are a status change's details; `at` is when (default: now). A statement
    that inserts the row itself takes these values (the first install's: no model object on the
    callback's path, issue 12).
    """
    return {
        "id": uuid.uuid4(),
        "tenant_id": uuid.UUID(str(tenant_id)),
        "project_id": uuid.UUID(str(project_id)),
        "integration_id": integration_id,
        "integration_type": integration_type[:50],
        "action": action or _action_of(reason),
        "reason": str(reason)[:50],
        "actor_id": actor_id,
        "actor_name": (actor_name or "")[:200] or None,
        "ip": (ip or "")[:64] or None,
        "user_agent": (user_agent or "")[:512] or None,
        "from_status": from_status,
        "to_status": to_status,
        "created_at": at or utcnow(),
    }


def _as_row(values: Callable[P, dict[str, Any]]) -> Callable[P, IntegrationEvent]:
    def row(*args: P.args, **kwargs: P.kwargs) -> IntegrationEvent:
        return IntegrationEvent(**values(*args, **kwargs))

    return row


event = _as_row(event_values)  # one audit row, not yet stored (`record` stores it)


def _action_of(reason: Reason | str) -> str:
    """A reason's audit action (a reason without one: an install that failed with it)."""
    return ACTIONS.get(reason, "install_failed") if isinstance(reason, Reason) else "install_failed"


async def record_by(
    session: AsyncSession,
    identity: Identity,
    row: ProjectIntegration,
    reason: Reason,
    *,
    origin: Origin = NO_ORIGIN,
    action: str | None = None,
) -> None:
    """What a signed-in person did to an integration, in the caller's transaction."""
    await record(
        session,
        event(
            tenant_id=row.tenant_id,
            project_id=row.project_id,
            integration_type=row.integration_type,
            reason=reason,
            actor_id=identity.user_id,
            actor_name=identity.name,
            integration_id=row.id,
            ip=origin.ip,
            user_agent=origin.user_agent,
            action=action,
        ),
    )


async def record_standalone(entry: IntegrationEvent) -> None:
    """Best effort, in its own transaction: a failed install is still worth recording."""
    try:
        async with unit_of_work() as session:
            await record(session, entry)
    except Unavailable:
        logger.warning("audit_not_recorded reason=%s", entry.reason)
