"""REST for which ticket event types an installed integration receives (Bearer JWT of an agent or admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, field_validator

from tms_console.api.deps import request_origin
from tms_console.api.v1 import CurrentIdentity, IntegrationType, ProjectId, TenantId
from tms_console.domain.events import EVENT_TYPES, EventType
from tms_console.services import subscriptions
from tms_console.services.tenancy import require_tenant

router = APIRouter(prefix="/v1", tags=["integrations"])

PATH = "/tenants/{tenant_id}/projects/{project_id}/integrations/{integration_type}/events"


class EventTypes(BaseModel):
    events: list[EventType] = Field(
        min_length=1,
        max_length=len(EVENT_TYPES) * 2,
        description="The ticket event types the integration receives: any of "
        + ", ".join(EVENT_TYPES)
        + ". All of them also means every type added later. To receive nothing, uninstall it.",
    )

    @field_validator("events", mode="before")
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        if isinstance(value, list) and not value:  # the reason, not just "at least 1 item"
            raise ValueError("pick at least one event type; to stop every message, uninstall the integration")
        return value


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not authenticated"},
    403: {"description": "Not a person's token (the TMS backend's service token only posts events)"},
    404: {"description": "Not found, another tenant's, or not installed"},
}


@router.get(PATH, response_model=EventTypes, responses=ERRORS)
async def get_event_types(
    tenant_id: TenantId, project_id: ProjectId, integration_type: IntegrationType, identity: CurrentIdentity
) -> EventTypes:
    """The ticket event types the integration receives (every type unless some were picked)."""
    require_tenant(identity, tenant_id)
    events = await subscriptions.event_types(
        identity, project_id=project_id, integration_type=integration_type
    )
    return EventTypes(events=events)  # type: ignore[arg-type]


@router.put(PATH, response_model=EventTypes, responses=ERRORS | {400: {"description": "Not a valid choice"}})
async def set_event_types(
    request: Request,
    tenant_id: TenantId,
    project_id: ProjectId,
    integration_type: IntegrationType,
    identity: CurrentIdentity,
    choice: EventTypes,
) -> EventTypes:
    """Pick which ticket event types the integration receives; answers the types it receives now."""
    require_tenant(identity, tenant_id)
    events = await subscriptions.set_event_types(
        identity,
        project_id=project_id,
        integration_type=integration_type,
        events=list(choice.events),
        origin=request_origin(request),
    )
    return EventTypes(events=events)  # type: ignore[arg-type]
