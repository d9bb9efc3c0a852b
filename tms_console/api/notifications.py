"""REST for the tenant's notification setting (tenant admins): which integration is told when another
needs reconnecting, is disabled or fails to deliver. Importing this router also registers the
notifications' transition hook in the web process (services/notifications.py)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from tms_console.api.v1 import ERRORS, CurrentIdentity, TenantId
from tms_console.services import notifications
from tms_console.services.tenancy import require_tenant

router = APIRouter(prefix="/v1", tags=["notifications"])
PATH = "/tenants/{tenant_id}/notifications"
ADMIN_ONLY = ERRORS | {403: {"description": "Tenant admins only"}}


class NotifyOptionOut(BaseModel):
    id: str = Field(description="An installed integration's id")
    label: str = Field(description='Provider and project, e.g. "Slack · Billing Desk"')


class NotifySettingOut(BaseModel):
    integration_id: str | None = Field(description="The integration told; null: nobody")
    options: list[NotifyOptionOut] = Field(description="The tenant's integrations that can carry notices")


class NotifyChoice(BaseModel):
    integration_id: str | None = Field(max_length=64, description="One of `options`, or null for nobody")


def _out(setting: notifications.NotifySetting) -> NotifySettingOut:
    return NotifySettingOut(
        integration_id=setting.chosen or None,
        options=[NotifyOptionOut(id=o.id, label=o.label) for o in setting.options],
    )


@router.get(PATH, response_model=NotifySettingOut, responses=ADMIN_ONLY)
async def get_setting(tenant_id: TenantId, identity: CurrentIdentity) -> NotifySettingOut:
    require_tenant(identity, tenant_id)
    return _out(await notifications.notify_setting(identity))


@router.put(PATH, response_model=NotifySettingOut, responses=ADMIN_ONLY)
async def put_setting(
    tenant_id: TenantId, identity: CurrentIdentity, choice: NotifyChoice
) -> NotifySettingOut:
    """Choose the integration told (an installed webhook or chat integration of any project), or nobody."""
    require_tenant(identity, tenant_id)
    return _out(await notifications.choose_notify(identity, choice.integration_id or ""))
