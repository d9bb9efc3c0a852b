"""The status machine of an installed integration: every change of status goes through `transition`.

Statuses (domain/status.py): `active`, `needs_reconnect` (the provider refuses our credentials),
`degraded` (deliveries failing for other reasons), `disabled` (by the provider or an admin);
`needs_setup` is not stored: it is an active row whose target nobody picked yet.

A transition is a change of status. It is stored on the row (status, reason code, since when) and as one
`status_changed` audit event (from, to, reason, who), and the hooks registered with `on_transition`
run in the same transaction, once per change: a check that finds the same status again changes
nothing (a new reason for the same status only replaces the row's reason, silently).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tms_console.domain.status import IntegrationStatus
from tms_console.persistence import integration_status
from tms_console.persistence.models import utcnow
from tms_console.services import audit
from tms_console.services.unit_of_work import unit_of_work

logger = logging.getLogger("tms_console.lifecycle")
STATUS_CHANGED = "status_changed"  # the audit action of a transition


@dataclass(frozen=True)
class Actor:
    """Who caused a change: an agent (with where from) or one of the console's own processes."""

    id: str
    name: str
    ip: str | None = None
    user_agent: str | None = None


SYSTEM_HEALTH = Actor("health-check", "Health check")
SYSTEM_PROVIDER = Actor("provider", "Provider event")
SYSTEM_DELIVERY = Actor("delivery-worker", "Delivery worker")


@dataclass(frozen=True)
class StatusChange:
    integration_id: uuid.UUID
    tenant_id: uuid.UUID
    project_id: uuid.UUID
    integration_type: str
    from_status: str
    to_status: str
    reason: str
    at: datetime
    actor: Actor


Hook = Callable[[AsyncSession, StatusChange], Awaitable[None]]
_hooks: list[Hook] = []


def on_transition(hook: Hook) -> Hook:
    """Run `hook(session, change)` after every transition, in its transaction (usable as a decorator)."""
    if hook not in _hooks:
        _hooks.append(hook)
    return hook


async def transition(
    session: AsyncSession,
    integration_id: uuid.UUID,
    to: IntegrationStatus,
    reason: str,
    *,
    actor: Actor,
) -> bool:
    """Move the integration to `to` for `reason`; whether its status changed (False: no row, or the
    same status already, whose stored reason is then replaced by this one)."""
    stored = await integration_status.lock(session, integration_id)
    if stored is None:
        return False
    reason, now = reason[:50], utcnow()
    if stored.status == to.value:
        if stored.reason != reason and to is not IntegrationStatus.ACTIVE:
            await integration_status.store(
                session, integration_id, status=to.value, reason=reason, changed_at=None, at=now
            )
        return False
    change = StatusChange(
        integration_id=integration_id,
        tenant_id=stored.tenant_id,
        project_id=stored.project_id,
        integration_type=stored.integration_type,
        from_status=stored.status,
        to_status=to.value,
        reason=reason,
        at=now,
        actor=actor,
    )
    # An active row keeps no reason: the card shows none; the audit event says why it became active.
    kept_reason = None if to is IntegrationStatus.ACTIVE else reason
    await integration_status.store(
        session, integration_id, status=to.value, reason=kept_reason, changed_at=now, at=now
    )
    await audit.record(
        session,
        audit.event(
            tenant_id=change.tenant_id,
            project_id=change.project_id,
            integration_type=change.integration_type,
            reason=reason,
            actor_id=actor.id,
            actor_name=actor.name,
            integration_id=integration_id,
            ip=actor.ip,
            user_agent=actor.user_agent,
            action=STATUS_CHANGED,
            from_status=change.from_status,
            to_status=change.to_status,
            at=now,
        ),
    )
    for hook in _hooks:
        await hook(session, change)
    logger.info(
        "integration_status_changed type=%s from=%s to=%s reason=%s",
        change.integration_type,
        change.from_status,
        change.to_status,
        reason,
    )
    return True


async def transition_now(
    integration_id: uuid.UUID, to: IntegrationStatus, reason: str, *, actor: Actor
) -> bool:
    """`transition` in its own transaction."""
    async with unit_of_work() as session:
        return await transition(session, integration_id, to, reason, actor=actor)
