"""Ticket event intake for the TMS backend (role `service`): validate, then hand over to the service."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import AwareDatetime, BaseModel, Field, model_validator

from tms_console.api.body_limit import body_limited_route
from tms_console.api.deps import service_identity
from tms_console.api.v1 import ProjectId, TenantId
from tms_console.domain.events import EVENT_TYPES, EventType
from tms_console.domain.ticket_events import MAX_EVENT_BYTES
from tms_console.security.identity import Identity
from tms_console.services import intake

router = APIRouter(prefix="/v1", tags=["events"], route_class=body_limited_route(MAX_EVENT_BYTES))

ServiceIdentity = Annotated[Identity, Depends(service_identity)]
Text = Annotated[str, Field(max_length=1000)]
Ident = Annotated[str, Field(min_length=1, max_length=200)]


class Person(BaseModel):
    id: Ident
    name: Text | None = None
    email: Annotated[str, Field(max_length=320)] | None = None


class Ticket(BaseModel):
    id: Ident = Field(description="The TMS's ticket id; a ticket's events reach each integration in order.")
    number: Annotated[int, Field(ge=0)]
    subject: Annotated[str, Field(max_length=2000)]
    status: Annotated[str, Field(min_length=1, max_length=50)]
    priority: Annotated[str, Field(min_length=1, max_length=50)]
    requester: Person | None = None
    assignee: Person | None = None
    url: Annotated[str, Field(max_length=2000, pattern=r"^https?://\S+$")] = Field(
        description="The ticket's page in the TMS."
    )


class TicketEventIn(BaseModel):
    """A ticket event. `id` is unique per tenant: the same id again answers the first answer."""

    id: Ident
    type: EventType = Field(description="One of: " + ", ".join(EVENT_TYPES))
    occurred_at: AwareDatetime
    ticket: Ticket
    actor: Person | None = None
    changes: dict[str, Any] = Field(
        default_factory=dict, description='What changed, e.g. {"status": {"from": "open", "to": "pending"}}.'
    )

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: Any) -> Any:
        # Postgres text and jsonb hold neither U+0000 nor lone surrogates; both become U+FFFD, so any
        # JSON string is accepted as the schema promises and stored as well as it can be.
        return _storable(data)


class EventAccepted(BaseModel):
    event_id: str
    deliveries: int = Field(description="How many integrations of the project will receive the event.")


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not JSON"},
    401: {"description": "Not authenticated"},
    403: {"description": "Not a service token"},
    404: {"description": "Not found"},
    409: {"description": "Event id already used for another project"},
    413: {"description": f"Body over {MAX_EVENT_BYTES} bytes"},
    503: {"description": "Database unavailable: nothing was stored, post again"},
}


@router.post(
    "/tenants/{tenant_id}/projects/{project_id}/events",
    status_code=202,
    response_model=EventAccepted,
    responses=ERRORS,
)
async def post_event(
    tenant_id: TenantId, project_id: ProjectId, event: TicketEventIn, identity: ServiceIdentity
) -> EventAccepted:
    """Accept a ticket event: answered once it and its deliveries are durably stored and scheduled."""
    incoming = intake.IncomingEvent(event.id, event.type, event.ticket.id, event.model_dump(mode="json"))
    accepted = await intake.accept_event(identity, tenant_id, project_id, incoming)
    return EventAccepted(event_id=accepted.event_id, deliveries=accepted.deliveries)


def _storable(value: Any) -> Any:
    if isinstance(value, str):
        if value.isascii():
            return value.replace("\x00", "\ufffd")
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace").replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_storable(item) for item in value]
    return value
