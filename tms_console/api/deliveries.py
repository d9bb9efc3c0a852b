"""REST for the delivery log (Bearer JWT of an agent or admin): list, get one with its attempts,
resend one, retry failed since a time. Resend semantics: services/delivery_log.py."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import AwareDatetime, BaseModel, Field

from tms_console.api.deps import enforce_rate_limit, request_origin
from tms_console.api.v1 import ERRORS, CurrentIdentity, IntegrationType, ProjectId, TenantId
from tms_console.domain.events import EventType
from tms_console.services import delivery_log
from tms_console.services.tenancy import require_tenant
from tms_console.settings import get_settings

router = APIRouter(prefix="/v1", tags=["deliveries"])

DeliveryId = Annotated[str, Path(max_length=64)]
StatusWord = Literal["pending", "delivered", "failed", "paused"]
BASE = "/tenants/{tenant_id}/projects/{project_id}"
REFUSED = {409: {"description": "Still being delivered, or the integration cannot receive now"}}


class DeliveryOut(BaseModel):
    id: str
    integration_type: str
    event_type: str
    event_id: str = Field(description="The TMS's id of the ticket event")
    ticket_number: str
    ticket_subject: str = Field(description="At most 200 characters")
    status: StatusWord
    attempts: int
    last_reason: str | None = Field(description="A stable reason code")
    explanation: str = Field(description="The last reason (or the status) in plain words")
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


class AttemptOut(BaseModel):
    attempt: int
    started_at: datetime
    duration_ms: int
    outcome: str
    http_status: int | None
    reason: str | None
    explanation: str
    detail: str = Field(description="At most 1 KiB of the answer; never a secret")
    next_attempt_at: datetime | None


class DeliveryPageOut(BaseModel):
    page: int
    page_size: int
    total: int
    deliveries: list[DeliveryOut]


class DeliveryDetailOut(BaseModel):
    delivery: DeliveryOut
    attempts: list[AttemptOut] = Field(description="First attempt first")


class Resent(BaseModel):
    delivery_id: str = Field(description="The new delivery's id")


class RetryFailed(BaseModel):
    since: AwareDatetime = Field(description="Failed deliveries created at or after this time")


class Queued(BaseModel):
    queued: int = Field(description=f"How many were queued again (at most {delivery_log.MAX_RETRY_FAILED})")


def _out(view: delivery_log.DeliverySummary) -> DeliveryOut:
    return DeliveryOut.model_validate(view, from_attributes=True)


@router.get(
    BASE + "/deliveries",
    response_model=DeliveryPageOut,
    responses=ERRORS | {400: {"description": "Bad filter"}},
)
async def list_deliveries(
    tenant_id: TenantId,
    project_id: ProjectId,
    identity: CurrentIdentity,
    integration: Annotated[str | None, Query(max_length=50, pattern=r"^[a-z0-9_]+$")] = None,
    status: StatusWord | None = None,
    event_type: EventType | None = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    page: Annotated[int, Query(ge=1, le=delivery_log.MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=delivery_log.MAX_PAGE_SIZE)] = 25,
) -> DeliveryPageOut:
    """The project's deliveries, newest first: filter by integration type, status, event type and
    creation time (`since` inclusive, `until` exclusive)."""
    require_tenant(identity, tenant_id)
    query = delivery_log.LogQuery(integration, status, event_type, since, until, page, page_size)
    result = await delivery_log.list_deliveries(identity, project_id, query)
    return DeliveryPageOut(
        page=result.page,
        page_size=result.page_size,
        total=result.total,
        deliveries=[_out(view) for view in result.deliveries],
    )


@router.get(BASE + "/deliveries/{delivery_id}", response_model=DeliveryDetailOut, responses=ERRORS)
async def get_delivery(
    tenant_id: TenantId, project_id: ProjectId, delivery_id: DeliveryId, identity: CurrentIdentity
) -> DeliveryDetailOut:
    """One delivery with every attempt: outcome, HTTP status, latency, reason in plain words, next retry."""
    require_tenant(identity, tenant_id)
    detail = await delivery_log.get_delivery(identity, project_id, delivery_id)
    return DeliveryDetailOut(
        delivery=_out(detail.delivery),
        attempts=[AttemptOut.model_validate(a, from_attributes=True) for a in detail.attempts],
    )


@router.post(
    BASE + "/deliveries/{delivery_id}/resend",
    status_code=202,
    response_model=Resent,
    responses=ERRORS | REFUSED | {429: {"description": "Too many requests (see Retry-After)"}},
)
async def resend(
    request: Request,
    tenant_id: TenantId,
    project_id: ProjectId,
    delivery_id: DeliveryId,
    identity: CurrentIdentity,
) -> Resent:
    """Send the delivery's event to its integration again, as a new delivery with the whole retry schedule."""
    require_tenant(identity, tenant_id)
    await enforce_rate_limit(request, "resend", get_settings().install_rate_limit, identity)
    new_id = await delivery_log.resend(identity, project_id, delivery_id, origin=request_origin(request))
    return Resent(delivery_id=new_id)


@router.post(
    BASE + "/integrations/{integration_type}/retry-failed",
    status_code=202,
    response_model=Queued,
    responses=ERRORS | REFUSED | {429: {"description": "Too many requests (see Retry-After)"}},
)
async def retry_failed(
    request: Request,
    tenant_id: TenantId,
    project_id: ProjectId,
    integration_type: IntegrationType,
    identity: CurrentIdentity,
    body: RetryFailed,
) -> Queued:
    """Resend every event whose latest delivery to this integration failed since `since`, oldest first."""
    require_tenant(identity, tenant_id)
    await enforce_rate_limit(request, "resend", get_settings().install_rate_limit, identity)
    count = await delivery_log.retry_failed(
        identity, project_id, integration_type, body.since, origin=request_origin(request)
    )
    return Queued(queued=count)
