"""/admin/audit: the tenant admin's audit trail (filters, "Load more", CSV export). A thin adapter.

The filters are held here for display and re-checked by services/audit_log on every call; the export link
is the REST CSV route with the same filters, downloaded with the session cookie.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import reflex as rx
from reflex.event import EventSpec

from tms_console.domain.audit_actions import ACTION_LABELS
from tms_console.domain.errors import ServiceError
from tms_console.domain.reasons import Reason, describe
from tms_console.providers.registry import PROVIDERS
from tms_console.services import audit_log, installations
from tms_console.state.audit import AuditRow, audit_row
from tms_console.state.session import current_identity
from tms_console.state.views import ProjectOption, ProviderColumn, project_options

PAGE = 50
ANY = "all"


@dataclass(frozen=True)
class ActionOption:
    key: str
    label: str


def _day(value: str, *, end: bool = False) -> datetime | None:
    """A picked day (YYYY-MM-DD) as the UTC midnight it starts, or ends (`end`); None when empty.

    Raises:
        ValueError: not a day.
    """
    if not value:
        return None
    start = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    return start + timedelta(days=1) if end else start


class AdminAuditState(rx.State):
    """The audit page: filters, the events so far, whether there are more."""

    loading: bool = True
    denied: str = ""
    error: str = ""
    user_name: str = ""
    tenant_id: str = ""
    rows: list[AuditRow] = []
    more: bool = False
    projects: list[ProjectOption] = []
    providers: list[ProviderColumn] = [ProviderColumn(s.key, s.name) for s in PROVIDERS.values()]
    actions: list[ActionOption] = [ActionOption(k, v) for k, v in ACTION_LABELS.items()]
    project: str = ANY
    provider: str = ANY
    action: str = ANY
    actor: str = ""
    since_day: str = ""
    until_day: str = ""
    _cursor: str = ""

    @rx.var
    def export_url(self) -> str:
        """The CSV route with the filters shown (relative: the console serves its API on its own origin)."""
        filters = self._filters()
        query = {
            "project_id": filters.project_id,
            "integration": filters.integration_type,
            "action": filters.action,
            "actor": filters.actor,
            "since": filters.since.isoformat() if filters.since else None,
            "until": filters.until.isoformat() if filters.until else None,
        }
        shown = urlencode({k: v for k, v in query.items() if v})
        return f"/v1/tenants/{self.tenant_id}/audit.csv" + (f"?{shown}" if shown else "")

    def _filters(self) -> audit_log.AuditQuery:
        try:
            since, until = _day(self.since_day), _day(self.until_day, end=True)
        except ValueError:
            since = until = None
        return audit_log.AuditQuery(
            project_id=None if self.project == ANY else self.project,
            integration_type=None if self.provider == ANY else self.provider,
            action=None if self.action == ANY else self.action,
            actor=self.actor.strip() or None,
            since=since,
            until=until,
            page_size=PAGE,
        )

    @rx.event
    async def load(self) -> EventSpec | None:
        identity = current_identity(self)
        if identity is None:
            return rx.redirect("/login")
        self.reset()
        self.user_name, self.tenant_id = identity.name, str(identity.tenant_id)
        if not identity.is_admin:
            self.denied, self.loading = describe(Reason.NOT_ALLOWED, ""), False
            return None
        self.projects = project_options(await installations.list_projects(identity))
        await self._fetch(fresh=True)
        self.loading = False
        return None

    async def _fetch(self, *, fresh: bool) -> None:
        identity = current_identity(self)
        if identity is None or not identity.is_admin:
            self.rows, self.denied = [], describe(Reason.NOT_ALLOWED, "")
            return
        try:
            _day(self.since_day), _day(self.until_day)
        except ValueError:
            self.error = "Pick the days from the calendar (YYYY-MM-DD)."
            return
        cursor = None if fresh else self._cursor or None
        query = self._filters()
        try:
            page = await audit_log.tenant_trail(identity, replace(query, cursor=cursor))
        except ServiceError as exc:
            self.error = (
                exc.detail if exc.reason is Reason.INVALID_INPUT else describe(exc.reason, "The console")
            )
            return
        rows = [audit_row(e) for e in page.entries]
        self.error = ""
        self.rows = rows if fresh else self.rows + rows
        self._cursor, self.more = page.next_cursor, bool(page.next_cursor)

    @rx.event
    async def set_project(self, value: str) -> None:
        self.project = value if any(p.id == value for p in self.projects) else ANY
        await self._fetch(fresh=True)

    @rx.event
    async def set_provider(self, value: str) -> None:
        self.provider = value if isinstance(value, str) and value in PROVIDERS else ANY
        await self._fetch(fresh=True)

    @rx.event
    async def set_action(self, value: str) -> None:
        self.action = value if isinstance(value, str) and value in ACTION_LABELS else ANY
        await self._fetch(fresh=True)

    @rx.event
    async def set_actor(self, value: str) -> None:
        self.actor = value[:200] if isinstance(value, str) else ""
        await self._fetch(fresh=True)

    @rx.event
    async def set_since(self, value: str) -> None:
        self.since_day = value[:10] if isinstance(value, str) else ""
        await self._fetch(fresh=True)

    @rx.event
    async def set_until(self, value: str) -> None:
        self.until_day = value[:10] if isinstance(value, str) else ""
        await self._fetch(fresh=True)

    @rx.event
    async def clear_filters(self) -> None:
        self.project = self.provider = self.action = ANY
        self.actor = self.since_day = self.until_day = ""
        await self._fetch(fresh=True)

    @rx.event
    async def load_more(self) -> None:
        if self.more:
            await self._fetch(fresh=False)
