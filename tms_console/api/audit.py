"""REST for the tenant's audit trail (tenant admins): one page as JSON, or every matching event as CSV.

The console's "Export CSV" downloads the CSV route with the session cookie (`bearer_identity`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime, BaseModel, Field

from tms_console.api.v1 import ERRORS, CurrentIdentity, TenantId
from tms_console.services import audit_log
from tms_console.services.tenancy import require_tenant

router = APIRouter(prefix="/v1", tags=["audit"])
AUDIT_ERRORS = ERRORS | {400: {"description": "Bad filter"}, 403: {"description": "Tenant admins only"}}


class AuditEntryOut(BaseModel):
    id: str
    at: datetime = Field(description="When it happened (UTC)")
    project_id: str
    project_name: str = Field(description="Empty once the project is gone")
    integration_type: str
    provider: str
    action: str = Field(description="installed, uninstalled, status_changed, target_changed, test_sent, ...")
    action_label: str
    reason: str = Field(description="A stable reason code")
    explanation: str = Field(description="The reason code in plain words")
    from_status: str = Field(description="For status changes: the status before")
    to_status: str = Field(description="For status changes: the status after")
    actor_id: str
    actor_name: str
    ip: str
    user_agent: str


class AuditPageOut(BaseModel):
    entries: list[AuditEntryOut] = Field(description="Newest first")
    next_cursor: str = Field(description="Pass as `cursor` for the next page; empty on the last page")


def audit_query(
    project_id: Annotated[str | None, Query(max_length=64)] = None,
    integration: Annotated[str | None, Query(max_length=50, pattern=r"^[a-z0-9_]+$")] = None,
    action: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z_]+$")] = None,
    actor: Annotated[str | None, Query(max_length=200, description="An actor id, or part of a name")] = None,
    since: Annotated[AwareDatetime | None, Query(description="Inclusive")] = None,
    until: Annotated[AwareDatetime | None, Query(description="Exclusive")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    page_size: Annotated[int, Query(ge=1, le=audit_log.MAX_PAGE_SIZE)] = 50,
) -> audit_log.AuditQuery:
    return audit_log.AuditQuery(project_id, integration, action, actor, since, until, cursor, page_size)


Filters = Annotated[audit_log.AuditQuery, Depends(audit_query)]


@router.get("/tenants/{tenant_id}/audit", response_model=AuditPageOut, responses=AUDIT_ERRORS)
async def tenant_audit(tenant_id: TenantId, identity: CurrentIdentity, query: Filters) -> AuditPageOut:
    """Who did what to which integration, when, from where, with reason codes: newest first, filtered by
    project, integration type, action, actor and time (`since` inclusive, `until` exclusive)."""
    require_tenant(identity, tenant_id)
    page = await audit_log.tenant_trail(identity, query)
    return AuditPageOut(
        entries=[AuditEntryOut.model_validate(e, from_attributes=True) for e in page.entries],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/tenants/{tenant_id}/audit.csv",
    response_class=StreamingResponse,
    responses=AUDIT_ERRORS | {200: {"content": {"text/csv": {}}, "description": "Every matching event"}},
)
async def tenant_audit_csv(
    tenant_id: TenantId, identity: CurrentIdentity, query: Filters
) -> StreamingResponse:
    """Every event matching the filters as CSV (UTF-8, newest first; `cursor` and `page_size` are ignored).
    Cells that a spreadsheet would read as a formula start with an apostrophe."""
    require_tenant(identity, tenant_id)
    where = audit_log.export_filter(identity, query)
    name = f"audit-{datetime.now(UTC):%Y%m%d-%H%M%S}.csv"
    return StreamingResponse(
        audit_log.export_csv(identity.tenant_id, where),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
