"""Which ticket event types an integration receives: every type unless its `meta["events"]` picks some.

The choice lives in the integration row's shown settings (`meta["events"]`, read by the intake through
`domain.events.wants_event`). Picking every type stores no list at all, so a type the TMS adds later
reaches the integration too. An empty choice is refused: an integration that should receive nothing is
uninstalled (or, for a pause, left as it is), never kept silently connected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tms_console.domain.errors import NotFound, ServiceError
from tms_console.domain.events import EVENT_TYPES, current_event_types
from tms_console.domain.reasons import Reason
from tms_console.persistence import repository
from tms_console.providers.registry import get_provider, hooks_for
from tms_console.security.identity import Identity
from tms_console.services import audit
from tms_console.services.tenancy import require_project
from tms_console.services.unit_of_work import unit_of_work

MAX_ITEMS = 50  # far more than there are types: a longer list is not a choice, it is noise


def received_event_types(meta: Mapping[str, Any]) -> list[str]:
    """The types an integration with this `meta` receives, in EVENT_TYPES order (all when none picked)."""
    picked = meta.get("events")
    if not isinstance(picked, list) or not picked:
        return list(EVENT_TYPES)
    return list(current_event_types(picked))


def validate_event_types(events: object) -> list[str]:
    """The picked types in EVENT_TYPES order, each once.

    Raises:
        ServiceError: not a list of known types (the message names the allowed ones), or empty.
    """
    allowed = ", ".join(EVENT_TYPES)
    if not isinstance(events, list) or len(events) > MAX_ITEMS:
        raise ServiceError(Reason.INVALID_INPUT, f"events: must be a list of event types ({allowed})")
    unknown = [e for e in events if not isinstance(e, str) or e not in EVENT_TYPES]
    if unknown:
        shown = str(unknown[0])[:40]
        raise ServiceError(Reason.INVALID_INPUT, f"events: unknown type {shown!r}; allowed: {allowed}")
    if not events:
        raise ServiceError(
            Reason.INVALID_INPUT,
            "events: pick at least one event type; to stop every message, uninstall the integration",
        )
    return [event_type for event_type in EVENT_TYPES if event_type in events]


async def set_event_types(
    identity: Identity,
    *,
    project_id: str,
    integration_type: str,
    events: object,
    origin: audit.Origin = audit.NO_ORIGIN,
) -> list[str]:
    """Store which event types an installed integration receives; the types it receives now.

    Raises:
        NotFound: unknown type, another tenant's project, or nothing installed there.
        ServiceError: `events` is not a valid choice (nothing changes).
    """
    spec = get_provider(integration_type)
    if spec is None or not spec.available or not hooks_for(spec).renders_events:
        raise NotFound(Reason.NOT_FOUND, "unknown integration type")
    picked = validate_event_types(events)
    async with unit_of_work() as session:
        project = await require_project(session, identity, project_id)
        found = await repository.get_integration(
            session, tenant_id=identity.tenant_id, project_id=project.id, integration_type=spec.key, lock=True
        )
        if found is None:
            raise NotFound(Reason.NOT_FOUND, "integration not installed")
        row = found[0]
        meta = {key: value for key, value in (row.meta or {}).items() if key != "events"}
        if len(picked) < len(EVENT_TYPES):
            meta["events"] = picked
        await repository.update_meta(session, tenant_id=identity.tenant_id, integration_id=row.id, meta=meta)
        await audit.record_by(session, identity, row, Reason.EVENTS_CHANGED, origin=origin)
    return picked


async def event_types(identity: Identity, *, project_id: str, integration_type: str) -> list[str]:
    """The types an installed integration receives now.

    Raises:
        NotFound: unknown type, another tenant's project, or nothing installed there.
    """
    spec = get_provider(integration_type)
    if spec is None:
        raise NotFound(Reason.NOT_FOUND, "unknown integration type")
    async with unit_of_work() as session:
        project = await require_project(session, identity, project_id)
        found = await repository.get_integration(
            session, tenant_id=identity.tenant_id, project_id=project.id, integration_type=spec.key
        )
    if found is None:
        raise NotFound(Reason.NOT_FOUND, "integration not installed")
    return received_event_types(found[0].meta or {})
