"""Dev and test only: a sample ticket event accepted for a project as if the TMS backend had posted it.

The intake accepts events from the TMS backend only (a `service` identity, which no person holds). This
dev-only path builds that service identity itself, here in the service layer and nowhere else: for the
console, after checking that the caller is a person (agent or admin) and only for the caller's own tenant
(the intake then checks the project belongs to it); for `python -m tms_console.cli emit-event`, for the
tenant that owns the named project (an operator with database access can reach every tenant anyway).
Production refuses both, whoever asks. Each simulated event is a ticket of its own (fresh ids, a subject
marked "[Simulated]"), so it never waits behind another ticket's retries.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime

from tms_console.domain.errors import NotFound, ServiceError
from tms_console.domain.events import EVENT_TYPES, TicketEvent
from tms_console.domain.reasons import Reason
from tms_console.domain.sample_events import SAMPLE_EVENTS
from tms_console.persistence import projects
from tms_console.security.identity import Identity
from tms_console.services import intake
from tms_console.services.tenancy import parse_uuid
from tms_console.services.unit_of_work import unit_of_work
from tms_console.settings import get_settings

SIMULATOR_ID = "console-simulator"


class DevOnly(ServiceError):
    """Asked for in production, where simulated events do not exist."""

    status_code = 403


def available() -> bool:
    """Whether this console simulates events (development and test; never production)."""
    return get_settings().tms_env != "prod"


def simulated_event(event_type: str) -> intake.IncomingEvent:
    """The sample event of `event_type` as a new, simulated ticket (validated as the intake would).

    Raises:
        ServiceError: an unknown type (the message names the allowed ones).
    """
    if not isinstance(event_type, str) or event_type not in EVENT_TYPES:
        raise ServiceError(Reason.INVALID_INPUT, f"type: must be one of {', '.join(EVENT_TYPES)}")
    marker = secrets.token_hex(8)
    sample = SAMPLE_EVENTS[event_type]
    ticket = sample["ticket"] | {
        "id": f"sim-{marker}",
        "number": 9000 + secrets.randbelow(1000),
        "subject": "[Simulated] " + sample["ticket"]["subject"],
    }
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    body = sample | {"id": f"sim_{marker}", "occurred_at": now, "ticket": ticket}
    TicketEvent.from_dict(body)
    return intake.IncomingEvent(body["id"], event_type, ticket["id"], body)


async def simulate_event(identity: Identity, *, project_id: str, event_type: str) -> intake.Accepted:
    """Accept a simulated event for a project of the caller's tenant (console, dev and test only).

    Raises:
        DevOnly: in production.
        ServiceError: the caller is not a person, or an unknown type.
        NotFound: not a project of the caller's tenant.
    """
    _refuse_in_production()
    if identity.role not in ("agent", "admin"):
        raise ServiceError(Reason.NOT_ALLOWED, "only agents and admins simulate events")
    event = simulated_event(event_type)
    backend = _service_identity(identity.tenant_id, f"Simulated by {identity.name}")
    return await intake.accept_event(backend, str(identity.tenant_id), project_id, event)


async def emit_event(*, project_id: str, event_type: str) -> intake.Accepted:
    """Accept a simulated event for any project, by its id (the operator's `emit-event`, dev and test only).

    Raises:
        DevOnly: in production.
        ServiceError: an unknown type.
        NotFound: no such project.
    """
    _refuse_in_production()
    event = simulated_event(event_type)
    project = parse_uuid(project_id)
    async with unit_of_work() as session:
        tenant_id = await projects.project_tenant(session, project_id=project)
    if tenant_id is None:
        raise NotFound(Reason.NOT_FOUND, "no such project")
    backend = _service_identity(tenant_id, "emit-event")
    return await intake.accept_event(backend, str(tenant_id), str(project), event)


def _refuse_in_production() -> None:
    if not available():
        raise DevOnly(Reason.DEV_ONLY, "simulated events are refused in production (TMS_ENV=prod)")


def _service_identity(tenant_id: uuid.UUID, name: str) -> Identity:
    """The TMS backend's identity for one tenant, made here for the dev-only paths above (see the module)."""
    return Identity(user_id=SIMULATOR_ID, name=name[:200], tenant_id=tenant_id, role="service")
