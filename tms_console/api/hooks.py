"""REST Hooks for Zapier and Make (Bearer JWT of an agent or admin): subscribe, list, unsubscribe.

A native Zapier app's REST Hook trigger maps onto these directly: its subscribe URL is the POST, its
unsubscribe URL the DELETE with the returned id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field

from tms_console.api.deps import client_ip, enforce_rate_limit
from tms_console.api.v1 import CurrentIdentity, ProjectId, TenantId
from tms_console.services import rest_hooks
from tms_console.services.tenancy import require_tenant
from tms_console.settings import get_settings

router = APIRouter(prefix="/v1", tags=["hooks"])

HookId = Annotated[str, Path(max_length=64)]
# `*` or one ticket event type (rest_hooks.HOOK_EVENTS; tests/unit/test_rest_hook_values.py keeps them equal).
HookEvent = Literal[
    "*",
    "ticket.created",
    "ticket.assigned",
    "ticket.status_changed",
    "ticket.priority_changed",
    "ticket.commented",
    "ticket.resolved",
]
HOOKS_PATH = "/tenants/{tenant_id}/projects/{project_id}/hooks"


class HookIn(BaseModel):
    target_url: str = Field(
        min_length=1,
        max_length=2048,
        description="Where to POST the events: an https URL on a public address (a Zapier or Make "
        "webhook address). Kept secret: listings show its scheme and host only.",
    )
    event: HookEvent = Field(description="One ticket event type, or `*` for every type.")


class HookCreated(BaseModel):
    id: str
    event: str
    secret: str = Field(
        description="Signs every delivery (Standard Webhooks `webhook-signature`, and `X-TMS-Signature`). "
        "Shown only in this answer."
    )


class HookOut(BaseModel):
    id: str
    event: str
    target: str = Field(description="The URL's scheme and host only.")
    created_at: datetime
    created_by: str


class HookList(BaseModel):
    hooks: list[HookOut]


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not authenticated"},
    403: {"description": "Not allowed (a service token)"},
    404: {"description": "Not found"},
    503: {"description": "Unavailable"},
}


@router.post(
    HOOKS_PATH,
    status_code=201,
    response_model=HookCreated,
    responses=ERRORS
    | {
        400: {"description": "The URL is refused (not https, a private or local address, ...)"},
        409: {"description": f"The project has {rest_hooks.MAX_HOOKS_PER_PROJECT} hooks already"},
        429: {"description": "Too many requests (see Retry-After)"},
    },
)
async def subscribe(
    request: Request, tenant_id: TenantId, project_id: ProjectId, hook: HookIn, identity: CurrentIdentity
) -> HookCreated:
    """Subscribe a URL to the project's ticket events (REST Hooks, as Zapier and Make use them). Each
    event is POSTed as JSON, signed with the returned secret; a 410 from the URL unsubscribes it."""
    require_tenant(identity, tenant_id)
    await enforce_rate_limit(request, "install", get_settings().install_rate_limit, identity)
    who = rest_hooks.Who(identity, client_ip(request), request.headers.get("user-agent"))
    created = await rest_hooks.subscribe(
        who, tenant_id, project_id, target_url=hook.target_url, event=hook.event
    )
    return HookCreated(id=created.id, event=created.event, secret=created.secret)


@router.get(HOOKS_PATH, response_model=HookList, responses=ERRORS)
async def list_hooks(tenant_id: TenantId, project_id: ProjectId, identity: CurrentIdentity) -> HookList:
    """The project's subscriptions (never a URL's path or a secret)."""
    hooks = await rest_hooks.list_hooks(identity, tenant_id, project_id)
    return HookList(
        hooks=[
            HookOut(
                id=h.id, event=h.event, target=h.display_url, created_at=h.created_at, created_by=h.created_by
            )
            for h in hooks
        ]
    )


@router.delete(HOOKS_PATH + "/{hook_id}", status_code=204, responses=ERRORS)
async def unsubscribe(
    request: Request, tenant_id: TenantId, project_id: ProjectId, hook_id: HookId, identity: CurrentIdentity
) -> Response:
    """Unsubscribe (what Zapier calls when a Zap is turned off); events still queued for it are dropped."""
    who = rest_hooks.Who(identity, client_ip(request), request.headers.get("user-agent"))
    await rest_hooks.unsubscribe(who, tenant_id, project_id, hook_id)
    return Response(status_code=204)
