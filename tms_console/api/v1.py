"""REST API for TMS clients (Bearer JWT). Responses never carry a secret."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field

from tms_console.api.deps import bearer_identity, client_ip, enforce_rate_limit, rate_charge, request_origin
from tms_console.security.identity import Identity
from tms_console.services import connect, install, installations, overview, replacements
from tms_console.services.tenancy import require_tenant
from tms_console.settings import get_settings

router = APIRouter(prefix="/v1", tags=["integrations"])

TenantId = Annotated[str, Path(max_length=64)]
ProjectId = Annotated[str, Path(max_length=64)]
IntegrationType = Annotated[str, Path(max_length=50, pattern=r"^[a-z0-9_]+$")]
CurrentIdentity = Annotated[Identity, Depends(bearer_identity)]


class LastDeliveryOut(BaseModel):
    at: str = Field(description="When the last delivery was tried (ISO 8601, UTC).")
    status: str = Field(description="delivered, retrying, failed or paused")
    reason: str = Field(description="Its reason code; empty when delivered.")
    failing: bool = Field(description="The integration's deliveries are failing (until one is delivered).")
    failing_since: str = Field(description="Start of the failing run (ISO 8601, UTC); empty if not failing.")
    summary: str = Field(description='e.g. "Delivered 3 min ago"')


class Integration(BaseModel):
    type: str
    name: str
    status: str
    status_note: str = Field(
        description="The status's reason in plain words and what fixes it; empty if fine."
    )
    status_since: str = Field(description="When the status last changed (UTC); empty if not since installed.")
    stand_in: bool = Field(description="A local stand-in plays this provider (dev and test only).")
    account: str
    channel: str
    installed_by: str
    installed_at: str
    last_delivery: LastDeliveryOut | None = Field(
        default=None, description="The last delivery's time and outcome; null when none was made yet."
    )


class IntegrationList(BaseModel):
    project_id: str
    integrations: list[Integration]


class InstallUrl(BaseModel):
    url: str


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not authenticated"},
    404: {"description": "Not found"},
}


@router.get(
    "/tenants/{tenant_id}/projects/{project_id}/integrations",
    response_model=IntegrationList,
    responses=ERRORS,
)
async def list_integrations(
    tenant_id: TenantId, project_id: ProjectId, identity: CurrentIdentity
) -> IntegrationList:
    require_tenant(identity, tenant_id)
    views = await installations.list_integrations(identity, project_id)
    return IntegrationList(
        project_id=project_id,
        integrations=[
            Integration(type=v.key, **asdict(v))  # the view's fields by name: none can be forgotten
            for v in views
        ],
    )


@router.get(
    "/tenants/{tenant_id}/projects/{project_id}/integrations/{integration_type}/install",
    response_model=InstallUrl,
    responses=ERRORS
    | {
        400: {"description": "Not configured"},
        429: {"description": "Too many requests (see Retry-After)"},
        503: {"description": "Unavailable"},
    },
)
async def install_url(
    request: Request,
    tenant_id: TenantId,
    project_id: ProjectId,
    integration_type: IntegrationType,
    identity: CurrentIdentity,
) -> InstallUrl:
    """The provider's authorize URL, carrying a one-time state valid for 10 minutes."""
    require_tenant(identity, tenant_id)
    url = await install.start_install(
        identity,
        project_id=project_id,
        integration_type=integration_type,
        binding=None,
        limit=rate_charge(request, "install", get_settings().install_rate_limit, identity),
    )
    return InstallUrl(url=url)


@router.delete(
    "/tenants/{tenant_id}/projects/{project_id}/integrations/{integration_type}",
    status_code=204,
    responses=ERRORS,
)
async def uninstall(
    request: Request,
    tenant_id: TenantId,
    project_id: ProjectId,
    integration_type: IntegrationType,
    identity: CurrentIdentity,
) -> Response:
    """Revoke at the provider (best effort) and delete the integration; the audit trail keeps it."""
    require_tenant(identity, tenant_id)
    await installations.uninstall(
        identity,
        project_id=project_id,
        integration_type=integration_type,
        origin=request_origin(request),
    )
    return Response(status_code=204)


class TargetOut(BaseModel):
    id: str
    name: str
    group: str


class TargetList(BaseModel):
    targets: list[TargetOut]


class TargetChoice(BaseModel):
    target_id: str = Field(min_length=1, max_length=200)


class Connected(BaseModel):
    reveal: dict[str, str] = Field(description="Shown once, e.g. a webhook's signing secret")


class TestResult(BaseModel):
    result: str


@router.post(
    "/tenants/{tenant_id}/projects/{project_id}/integrations/{integration_type}",
    response_model=Connected,
    responses=ERRORS
    | {
        400: {"description": "Invalid fields, or the provider refused them"},
        429: {"description": "Too many requests (see Retry-After)"},
        502: {"description": "The provider failed"},
        503: {"description": "Unavailable"},
    },
)
async def connect_integration(
    request: Request,
    tenant_id: TenantId,
    project_id: ProjectId,
    integration_type: IntegrationType,
    identity: CurrentIdentity,
    fields: Annotated[dict[str, str | list[str]], Body(max_length=20)],
) -> Connected:
    """Connect an integration without an OAuth redirect: a bot token, an embedded-signup result, a
    webhook URL. The fields are the provider's form fields (see the console's setup panel)."""
    require_tenant(identity, tenant_id)
    await enforce_rate_limit(request, "install", get_settings().install_rate_limit, identity)
    reveal = await connect.connect(
        identity,
        project_id=project_id,
        integration_type=integration_type,
        fields=fields,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
    )
    return Connected(reveal=reveal)


@router.post(
    "/tenants/{tenant_id}/projects/{project_id}/integrations/{integration_type}/test",
    response_model=TestResult,
    responses=ERRORS
    | {
        400: {"description": "Not ready: no target chosen yet, needs reconnect, or endpoint gone"},
        502: {"description": "The provider did not take it; `detail` says why in plain words"},
    },
)
async def send_test(
    request: Request,
    tenant_id: TenantId,
    project_id: ProjectId,
    integration_type: IntegrationType,
    identity: CurrentIdentity,
) -> TestResult:
    """Send a test message (a sample event marked as a test, sent as a delivery would be) to the target
    chosen at install, and say how it went."""
    require_tenant(identity, tenant_id)
    await enforce_rate_limit(request, "install", get_settings().install_rate_limit, identity)
    result = await connect.send_test(
        identity, project_id=project_id, integration_type=integration_type, origin=request_origin(request)
    )
    return TestResult(result=result)


@router.get(
    "/tenants/{tenant_id}/projects/{project_id}/integrations/{integration_type}/targets",
    response_model=TargetList,
    responses=ERRORS | {400: {"description": "Needs reconnect"}, 502: {"description": "Provider failed"}},
)
async def list_targets(
    tenant_id: TenantId, project_id: ProjectId, integration_type: IntegrationType, identity: CurrentIdentity
) -> TargetList:
    """Where this integration can post (channels, spaces, chats), as the provider lists them now."""
    require_tenant(identity, tenant_id)
    targets = await connect.list_targets(identity, project_id=project_id, integration_type=integration_type)
    return TargetList(targets=[TargetOut(id=t.id, name=t.name, group=t.group) for t in targets])


@router.put(
    "/tenants/{tenant_id}/projects/{project_id}/integrations/{integration_type}/target",
    response_model=TargetOut,
    responses=ERRORS | {400: {"description": "Not one of the listed targets"}},
)
async def choose_target(
    request: Request,
    tenant_id: TenantId,
    project_id: ProjectId,
    integration_type: IntegrationType,
    identity: CurrentIdentity,
    choice: TargetChoice,
) -> TargetOut:
    """Pick where notifications go; only an id the provider lists for this install is accepted."""
    require_tenant(identity, tenant_id)
    target = await connect.choose_target(
        identity,
        project_id=project_id,
        integration_type=integration_type,
        target_id=choice.target_id,
        origin=request_origin(request),
    )
    return TargetOut(id=target.id, name=target.name, group=target.group)


class ReplacementDecision(BaseModel):
    replacement: str = Field(
        max_length=64, description="The one-time id a reinstall reaching another account answered with."
    )
    replace: bool = Field(
        default=False, description="true replaces the installed account; false (the default) keeps it."
    )


class ReplacementOutcome(BaseModel):
    result: str = Field(description="replaced, replacement_refused or replacement_expired")


@router.post(
    "/tenants/{tenant_id}/projects/{project_id}/replacement",
    response_model=ReplacementOutcome,
    responses=ERRORS | {503: {"description": "Unavailable"}},
)
async def decide_replacement(
    request: Request,
    tenant_id: TenantId,
    project_id: ProjectId,
    identity: CurrentIdentity,
    decision: ReplacementDecision,
) -> ReplacementOutcome:
    """Answer the wrong-account guard: a reinstall reached another provider account than the one
    installed (409 `wrong_account` with a `replacement` id, or `replace=` in the callback's redirect),
    and nothing was saved. Only the agent who started it can decide; refusing revokes the new tokens."""
    require_tenant(identity, tenant_id)
    reason = await replacements.decide(
        identity,
        project_id=project_id,
        replacement_id=decision.replacement,
        replace=decision.replace,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
    )
    return ReplacementOutcome(result=reason.value)


class OverviewCell(BaseModel):
    status: str = Field(description="connected, needs_attention or not_connected")
    state: str = Field(
        description="The integration's own status: active, needs_reconnect, needs_setup, degraded, "
        "disabled or not_connected."
    )
    detail: str = Field(
        description="That status in plain words with the action that fixes it; empty if fine."
    )
    account: str
    channel: str
    updated_at: str
    failing: bool = Field(description="Its deliveries are failing (until one is delivered).")
    failing_since: str = Field(description="When they began failing; empty when not failing.")


class OverviewProject(BaseModel):
    id: str
    name: str
    last_change: str
    integrations: dict[str, OverviewCell]


class OverviewOut(BaseModel):
    total_projects: int
    matching: int
    page: int
    page_size: int
    by_status: dict[str, int]
    by_provider: dict[str, dict[str, int]]
    failing: int = Field(description="How many of the tenant's integrations have failing deliveries.")
    projects: list[OverviewProject]


@router.get(
    "/tenants/{tenant_id}/integrations/overview",
    response_model=OverviewOut,
    responses=ERRORS | {400: {"description": "Invalid filter"}, 403: {"description": "Admins only"}},
)
async def integrations_overview(
    tenant_id: TenantId,
    identity: CurrentIdentity,
    status: Annotated[str | None, Query(max_length=20)] = None,
    provider: Annotated[str | None, Query(max_length=50)] = None,
    needs_attention: bool = False,
    failing: bool = False,
    q: Annotated[str | None, Query(max_length=200)] = None,
    sort: Annotated[str, Query(max_length=10)] = "name",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """Every project of the tenant against every provider (admins only): totals per status and per
    provider, and one page of projects; filter by status/provider/needs attention/failing deliveries
    (combined), search by any part (3+ characters, any case) of a project, account or channel name, or by
    an exact id."""
    require_tenant(identity, tenant_id)
    result = await overview.overview(
        identity,
        overview.Query(status, provider, needs_attention, q, sort, page, page_size, failing=failing),
    )
    return Response(overview_body(result), media_type="application/json")


def overview_body(result: overview.Overview) -> str:
    """The response as `OverviewOut` documents it, encoded straight from the service's dataclasses by
    the C JSON encoder: building 350 pydantic cells (and `asdict`'s deep copies) cost more than the
    queries. A cell's fields are `OverviewCell`'s by name (a unit test holds the two together)."""
    return json.dumps(
        {
            "total_projects": result.total_projects,
            "matching": result.matching,
            "page": result.page,
            "page_size": result.page_size,
            "by_status": result.by_status,
            "by_provider": result.by_provider,
            "failing": result.failing,
            "projects": [
                {
                    "id": p.id,
                    "name": p.name,
                    "last_change": p.last_change,
                    "integrations": {key: vars(c) for key, c in p.cells.items()},
                }
                for p in result.projects
            ],
        },
        separators=(",", ":"),
    )
