"""Reading the audit trail: an integration's Audit panel, and the tenant admin's audit page and CSV export.

Who sees what: anyone of the tenant sees the trail of an integration of one of its projects (the card's
panel); only the tenant's admins see the whole tenant's, filtered (project, integration type, action, actor,
time range) and exported. Another tenant's ids find nothing. Pages are keyset-paged, newest first: the
cursor names the last event shown. Reason codes come with plain words; times are UTC.

The CSV export walks the same pages, one short transaction per page, and is safe to open in a spreadsheet:
a cell that begins like a formula (= + - @, a tab or a carriage return) is prefixed with an apostrophe.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from tms_console.domain import status_reasons
from tms_console.domain.audit_actions import ACTION_LABELS, action_label
from tms_console.domain.delivery_reasons import explain as explain_delivery_reason
from tms_console.domain.delivery_reasons import is_known as is_delivery_reason
from tms_console.domain.errors import ServiceError
from tms_console.domain.reasons import Reason, describe, parse_reason
from tms_console.persistence import audit_log
from tms_console.persistence.audit_log import AuditFilter, Position
from tms_console.persistence.models import IntegrationEvent
from tms_console.providers.registry import get_provider
from tms_console.security.identity import Identity
from tms_console.services.overview import require_admin
from tms_console.services.tenancy import require_project
from tms_console.services.unit_of_work import unit_of_work

MAX_PAGE_SIZE = 200
EXPORT_BATCH = 500
MAX_ACTOR = 200
CSV_COLUMNS = (
    "time_utc",
    "project",
    "project_id",
    "integration",
    "action",
    "reason",
    "explanation",
    "from_status",
    "to_status",
    "actor_id",
    "actor_name",
    "ip",
    "user_agent",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class AuditQuery:
    """Filters and page of the tenant's trail; every field is checked (a 400 names the first bad one)."""

    project_id: str | None = None
    integration_type: str | None = None
    action: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    cursor: str | None = None
    page_size: int = 50


@dataclass(frozen=True)
class AuditEntry:
    id: str
    at: datetime
    project_id: str
    project_name: str  # "" once the project is gone
    integration_type: str
    provider: str  # the provider's display name
    action: str
    action_label: str
    reason: str
    explanation: str  # the reason code in plain words
    from_status: str
    to_status: str
    actor_id: str
    actor_name: str
    ip: str
    user_agent: str


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    next_cursor: str  # "" on the last page


def _invalid(field: str, detail: str) -> ServiceError:
    return ServiceError(Reason.INVALID_INPUT, f"{field}: {detail}")


def explain(reason: str | None, provider: str) -> str:
    """A reason code in plain words: a status change's (the lifecycle's or a platform's), or ours (install,
    uninstall...)."""
    if not reason:
        return ""
    if reason in status_reasons.EXPLANATIONS:
        return status_reasons.EXPLANATIONS[reason]
    known = parse_reason(reason)
    if known is not None:
        return describe(known, provider)
    if is_delivery_reason(reason):
        return explain_delivery_reason(reason)
    return f"Reason code {_UNSAFE.sub('', reason)[:50] or 'unknown'}."


def provider_name(integration_type: str) -> str:
    spec = get_provider(integration_type)
    return spec.name if spec else integration_type.replace("_", " ").capitalize()


def entry(event: IntegrationEvent, project_name: str | None) -> AuditEntry:
    provider = provider_name(event.integration_type)
    return AuditEntry(
        id=str(event.id),
        at=event.created_at.astimezone(UTC),
        project_id=str(event.project_id),
        project_name=project_name or "",
        integration_type=event.integration_type,
        provider=provider,
        action=event.action,
        action_label=action_label(event.action),
        reason=event.reason or "",
        explanation=explain(event.reason, provider),
        from_status=event.from_status or "",
        to_status=event.to_status or "",
        actor_id=event.actor_id or "",
        actor_name=event.actor_name or "",
        ip=event.ip or "",
        user_agent=event.user_agent or "",
    )


def encode_cursor(position: Position) -> str:
    raw = f"{position.created_at.isoformat()}|{position.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Position | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, _, event_id = raw.partition("|")
        return Position(_aware(datetime.fromisoformat(moment)), uuid.UUID(event_id))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _invalid("cursor", "not a cursor this API gave out") from None


def _aware(moment: datetime) -> datetime:
    """A time without a zone is read as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _page_size(value: object) -> int:
    if not (isinstance(value, int) and 1 <= value <= MAX_PAGE_SIZE):
        raise _invalid("page_size", f"1 to {MAX_PAGE_SIZE}")
    return value


def _checked(query: AuditQuery) -> AuditFilter:
    """The query as SQL filters, or a 400 naming the first bad field."""
    project = None
    if query.project_id:
        try:
            project = uuid.UUID(str(query.project_id))
        except ValueError:
            raise _invalid("project_id", "a project id") from None
    kind = query.integration_type or None
    if kind is not None and (len(kind) > 50 or not kind.replace("_", "").isalnum()):
        raise _invalid("integration", "an integration type")
    if query.action and query.action not in ACTION_LABELS:
        raise _invalid("action", "one of " + ", ".join(ACTION_LABELS))
    actor = (query.actor or "").strip() or None
    if actor is not None and (len(actor) > MAX_ACTOR or "\x00" in actor):
        raise _invalid("actor", "at most 200 characters")
    since, until = (_aware(t) if t else None for t in (query.since, query.until))
    if since and until and since >= until:
        raise _invalid("since", "before until")
    return AuditFilter(project, kind, query.action or None, actor, since, until)


async def _page(tenant_id: uuid.UUID, where: AuditFilter, after: Position | None, size: int) -> AuditPage:
    async with unit_of_work() as session:
        rows = await audit_log.list_events(
            session, tenant_id=tenant_id, where=where, after=after, limit=size + 1
        )
    more, rows = len(rows) > size, rows[:size]
    last = rows[-1][0] if rows else None
    cursor = encode_cursor(Position(last.created_at, last.id)) if more and last else ""
    return AuditPage([entry(event, name) for event, name in rows], cursor)


async def integration_trail(
    identity: Identity,
    project_id: str,
    integration_type: str,
    *,
    cursor: str | None = None,
    page_size: int = 25,
) -> AuditPage:
    """One page of what happened to a project's integration of this type (across reinstalls).

    Raises:
        NotFound: not a project of the caller's tenant.
        ServiceError: a bad type, cursor or page size.
    """
    where = _checked(AuditQuery(integration_type=integration_type))
    after, size = decode_cursor(cursor), _page_size(page_size)
    async with unit_of_work() as session:
        project = await require_project(session, identity, project_id)
    return await _page(identity.tenant_id, replace(where, project_id=project.id), after, size)


async def tenant_trail(identity: Identity, query: AuditQuery) -> AuditPage:
    """One page of the tenant's whole trail (admins only).

    Raises:
        NotAllowed: the caller is not a tenant admin.
        ServiceError: a filter, the cursor or the page size is invalid (the detail names it).
    """
    require_admin(identity)
    where, after, size = _checked(query), decode_cursor(query.cursor), _page_size(query.page_size)
    return await _page(identity.tenant_id, where, after, size)


def export_filter(identity: Identity, query: AuditQuery) -> AuditFilter:
    """Check the caller and the filters before a CSV export starts streaming (errors are still a 4xx)."""
    require_admin(identity)
    return _checked(query)


async def export_csv(tenant_id: uuid.UUID, where: AuditFilter) -> AsyncIterator[str]:
    """Every matching event as CSV, header first, newest first; one short transaction per batch."""
    yield _csv_line(CSV_COLUMNS)
    after: Position | None = None
    while True:
        page = await _page(tenant_id, where, after, EXPORT_BATCH)
        if page.entries:
            yield "".join(_csv_line(_csv_cells(e)) for e in page.entries)
        if not page.next_cursor:
            return
        after = decode_cursor(page.next_cursor)


def _csv_cells(e: AuditEntry) -> tuple[str, ...]:
    when = e.at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        when,
        e.project_name,
        e.project_id,
        e.integration_type,
        e.action,
        e.reason,
        e.explanation,
        e.from_status,
        e.to_status,
        e.actor_id,
        e.actor_name,
        e.ip,
        e.user_agent,
    )


def csv_safe(cell: str) -> str:
    """A cell a spreadsheet shows as text: one that begins like a formula gets a leading apostrophe."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def _csv_line(cells: tuple[str, ...]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([csv_safe(cell) for cell in cells])
    return out.getvalue()
