"""The audit trail: who did what to which integration, with a reason code. Never a secret."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from tms_console.domain.errors import Unavailable
from tms_console.domain.reasons import Reason
from tms_console.persistence import repository
from tms_console.services.unit_of_work import unit_of_work

logger = logging.getLogger("tms_console.audit")

ACTIONS = {
    Reason.INSTALLED: "installed",
    Reason.RECONNECTED: "reconnected",  # installed again over the same row and account
    Reason.REPLACED: "replaced",  # installed again over the same row, with another account (confirmed)
    Reason.REPLACEMENT_REFUSED: "replacement_refused",
    Reason.REPLACEMENT_EXPIRED: "replacement_expired",
    Reason.UNINSTALLED: "uninstalled",
    Reason.INSTALL_STARTED: "install_started",
    Reason.ADMIN_CONSENT_GRANTED: "admin_consent_granted",
    Reason.NEEDS_RECONNECT: "needs_reconnect",  # a delivery found the credentials refused
    Reason.ENDPOINT_GONE: "disabled",  # a webhook answered 410 to a delivery
    Reason.HOOK_SUBSCRIBED: "subscribed",  # a REST hook (Zapier, Make) was added
    Reason.HOOK_UNSUBSCRIBED: "unsubscribed",
    Reason.HOOK_GONE: "unsubscribed",  # a REST hook's URL answered 410 to a delivery
    Reason.EVENTS_CHANGED: "events_changed",  # an agent picked which ticket events it receives
}


async def record(
    session: AsyncSession,
    *,
    tenant_id: str | uuid.UUID,
    project_id: str | uuid.UUID,
    integration_type: str,
    reason: Reason,
    actor_id: str | None,
    actor_name: str | None,
    integration_id: uuid.UUID | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> None:
    await repository.record_event(
        session,
        tenant_id=uuid.UUID(str(tenant_id)),
        project_id=uuid.UUID(str(project_id)),
        integration_id=integration_id,
        integration_type=integration_type[:50],
        action=ACTIONS.get(reason, "install_failed"),
        reason=reason.value,
        actor_id=actor_id,
        actor_name=(actor_name or "")[:200] or None,
        ip=(ip or "")[:64] or None,
        user_agent=(user_agent or "")[:512] or None,
    )


async def record_standalone(**fields: object) -> None:
    """Best effort, in its own transaction: a failed install is still worth recording."""
    try:
        async with unit_of_work() as session:
            await record(session, **fields)  # type: ignore[arg-type]
    except Unavailable:
        logger.warning("audit_not_recorded reason=%s", fields.get("reason"))
