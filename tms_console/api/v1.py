"""REST API for TMS clients (Bearer JWT). Responses never carry a secret."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel

from tms_console.api.deps import bearer_identity, client_ip, enforce_rate_limit
from tms_console.security.identity import Identity
from tms_console.services import install, installations
from tms_console.services.tenancy import require_tenant
from tms_console.settings import get_settings

router = APIRouter(prefix="/v1", tags=["integrations"])

TenantId = Annotated[str, Path(max_length=64)]
ProjectId = Annotated[str, Path(max_length=64)]
IntegrationType = Annotated[str, Path(max_length=50, pattern=r"^[a-z0-9_]+$")]
CurrentIdentity = Annotated[Identity, Depends(bearer_identity)]


class Integration(BaseModel):
    type: str
    name: str
    status: str
    sandbox: bool
    account: str
    channel: str
    installed_by: str
    installed_at: str


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
            Integration(
                type=v.key,
                name=v.name,
                status=v.status,
                sandbox=v.sandbox,
                account=v.account,
                channel=v.channel,
                installed_by=v.installed_by,
                installed_at=v.installed_at,
            )
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
    await enforce_rate_limit(request, "install", get_settings().install_rate_limit, identity)
    url = await install.start_install(
        identity, project_id=project_id, integration_type=integration_type, binding=None
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
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
    )
    return Response(status_code=204)
