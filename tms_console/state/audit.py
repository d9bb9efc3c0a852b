"""The Audit panel of a card: who did what to the integration, when, from where, and why.

Thin: each handler re-derives the caller from the session and passes the page's project to
services/audit_log (which checks tenancy again). Rows are small view models; the cursor of the next
page is kept server-side only.
"""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx
from reflex.event import EventSpec

from tms_console.domain.errors import ServiceError
from tms_console.domain.reasons import describe
from tms_console.security.identity import Identity
from tms_console.services import audit_log
from tms_console.state.card_panel import CardPanel, when
from tms_console.state.integrations import IntegrationsState

PANEL_PAGE = 25
AGENT_SHOWN = 40  # characters of a user agent shown in a row (the whole one is its tooltip)


@dataclass(frozen=True)
class AuditRow:
    """One audit event as the panel and the admin's audit page list it."""

    id: str
    when: str
    project: str
    provider: str
    action: str  # the stored word (for tests and filters)
    label: str  # the action in plain words
    explanation: str
    reason: str
    change: str  # "active → needs_reconnect" for a status change, else ""
    actor: str
    ip: str
    agent: str  # the user agent, shortened
    agent_full: str


def short_agent(agent: str) -> str:
    return agent if len(agent) <= AGENT_SHOWN else agent[: AGENT_SHOWN - 1] + "…"


def audit_row(entry: audit_log.AuditEntry) -> AuditRow:
    change = f"{entry.from_status or '—'} → {entry.to_status}" if entry.to_status else ""
    return AuditRow(
        id=entry.id,
        when=when(entry.at),
        project=entry.project_name or entry.project_id,
        provider=entry.provider,
        action=entry.action,
        label=entry.action_label,
        explanation=entry.explanation,
        reason=entry.reason,
        change=change,
        actor=entry.actor_name or entry.actor_id or "—",
        ip=entry.ip,
        agent=short_agent(entry.user_agent),
        agent_full=entry.user_agent,
    )


class AuditPanelState(CardPanel, IntegrationsState):
    """The open panel: which integration, its events so far, whether there are more."""

    audit_type: str = ""  # the integration whose panel is open
    audit_name: str = ""
    audit_rows: list[AuditRow] = []
    audit_more: bool = False
    audit_loading: bool = False
    audit_error: str = ""
    _audit_cursor: str = ""

    def _mark_open(self, integration_type: str, name: str) -> None:
        self.audit_type, self.audit_name, self.audit_loading = integration_type, name, True

    def _reloadable(self) -> bool:
        if not self.audit_type or not self.audit_more or self.audit_loading:
            return False
        self.audit_loading = True
        return True

    @rx.event(background=True)
    async def open_audit(self, integration_type: str) -> EventSpec | None:
        """Open the panel of one integration with its newest events."""
        return await self._then_load(await self._open_panel(integration_type))

    @rx.event
    def close_audit(self) -> None:
        self.reset()

    @rx.event(background=True)
    async def more_audit(self) -> EventSpec | None:
        """The next (older) page, appended."""
        return await self._then_load(await self._reload_panel())

    async def _load_panel(self, identity: Identity) -> None:
        """The page after the cursor (no state lock while the database answers)."""
        async with self:
            kind, project_id, cursor = self.audit_type, self.project_id, self._audit_cursor
        try:
            page = await audit_log.integration_trail(
                identity, project_id, kind, cursor=cursor or None, page_size=PANEL_PAGE
            )
            rows, after, error = [audit_row(e) for e in page.entries], page.next_cursor, ""
        except ServiceError as exc:
            rows, after, error = [], "", describe(exc.reason, "The console")
        async with self:
            if self.audit_type == kind and self._audit_cursor == cursor:  # not closed or moved on meanwhile
                self.audit_rows = self.audit_rows + rows
                self._audit_cursor, self.audit_more, self.audit_error = after, bool(after), error
            self.audit_loading = False
