"""/admin: the tenant admin's overview of every project and provider. A thin adapter to the service."""

from __future__ import annotations

from collections.abc import AsyncIterator

import reflex as rx
from reflex.event import EventHandler, EventSpec

from tms_console.domain.errors import ServiceError
from tms_console.domain.reasons import Reason, describe
from tms_console.services import overview
from tms_console.state.notify import NotifyState
from tms_console.state.session import current_identity
from tms_console.state.views import (
    ChartBar,
    OverviewRow,
    ProviderColumn,
    chart_bars,
    overview_rows,
    provider_columns,
)

PAGE_SIZE = 25
FIRST_ROWS = 6  # more than a 900 px high window shows below the totals, chart and filters


class AdminState(rx.State):
    """The overview page: totals, chart, filters and one page of projects (admins only)."""

    loading: bool = True
    denied: str = ""
    error: str = ""
    user_name: str = ""
    providers: list[ProviderColumn] = []
    rows: list[OverviewRow] = []
    by_status: dict[str, int] = {}
    chart: list[ChartBar] = []
    total_projects: int = 0
    matching: int = 0
    page: int = 1
    status_filter: str = "all"
    provider_filter: str = "all"
    attention_only: bool = False
    failing_only: bool = False
    failing_total: int = 0
    search: str = ""
    sort: str = "name"

    @rx.var
    def pages(self) -> int:
        return max(1, -(-self.matching // PAGE_SIZE))

    @rx.event
    async def load(self) -> AsyncIterator[EventSpec | EventHandler | None]:
        identity = current_identity(self)
        if identity is None:
            yield rx.redirect("/login")
            return
        self.user_name = identity.name
        self.denied = "" if identity.is_admin else describe(Reason.NOT_ALLOWED, "")
        self.page = 1
        if self.denied:
            self.loading = False
            return
        await self._fetch()
        self.loading = False
        if len(self.rows) > FIRST_ROWS:
            # The browser's first render is the page's cost to its first cell (React on a busy main
            # thread, ~10 ms a row): the rows a first screen shows go out on their own, the rest follow
            # below them (nothing visible moves).
            rest, self.rows = self.rows, self.rows[:FIRST_ROWS]
            yield None
            self.rows = rest
        # After the rows, not beside them: its 200 options and their query do not hold up the first.
        yield NotifyState.load_notify

    async def _fetch(self) -> None:
        identity = current_identity(self)
        if identity is None or not identity.is_admin:
            self.rows, self.denied = [], describe(Reason.NOT_ALLOWED, "")
            return
        query = overview.Query(
            status=None if self.status_filter == "all" else self.status_filter,
            provider=None if self.provider_filter == "all" else self.provider_filter,
            needs_attention=self.attention_only,
            failing=self.failing_only,
            search=self.search or None,
            sort=self.sort,
            page=self.page,
            page_size=PAGE_SIZE,
        )
        try:
            result = await overview.overview(identity, query)
        except ServiceError as exc:
            self.error = describe(exc.reason, "The console")
            return
        self.error = ""
        self.providers, self.chart = provider_columns(result), chart_bars(result)
        self.rows = overview_rows(result)
        self.total_projects, self.matching = result.total_projects, result.matching
        self.by_status, self.failing_total = result.by_status, result.failing

    @rx.event
    async def set_status_filter(self, value: str) -> None:
        self.status_filter, self.page = value, 1
        await self._fetch()

    @rx.event
    async def set_provider_filter(self, value: str) -> None:
        self.provider_filter, self.page = value, 1
        await self._fetch()

    @rx.event
    async def toggle_attention(self, value: bool) -> None:
        self.attention_only, self.page = bool(value), 1
        await self._fetch()

    @rx.event
    async def toggle_failing(self, value: bool) -> None:
        self.failing_only, self.page = bool(value), 1
        await self._fetch()

    @rx.event
    async def set_search(self, value: str) -> None:
        self.search, self.page = value[:200], 1
        if 0 < len(self.search.strip()) < overview.MIN_SEARCH:
            self.error = overview.SEARCH_TOO_SHORT  # the rows stay as they were until it is long enough
            return
        await self._fetch()

    @rx.event
    async def set_sort(self, value: str) -> None:
        if value in overview.SORTS:
            self.sort, self.page = value, 1
            await self._fetch()

    @rx.event
    async def go_to_page(self, page: int) -> None:
        self.page = min(max(1, int(page)), self.pages)
        await self._fetch()

    @rx.event
    def open_project(self, project_id: str) -> EventSpec | None:
        """A cell's click: that project's integrations page (which re-checks access on load)."""
        if any(row.id == project_id for row in self.rows):
            return rx.redirect(f"/projects/{project_id}/integrations")
        return None
