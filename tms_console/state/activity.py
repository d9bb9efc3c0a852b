"""The Activity panel of a card: an integration's recent deliveries, their attempts, resend, retry failed.

Thin: each handler re-derives the caller from the session, passes the page's project to
services/delivery_log (which checks tenancy again) and maps the answer to small view rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx
from reflex.event import EventSpec

from tms_console.domain.errors import ServiceError
from tms_console.domain.events import EVENT_LABELS
from tms_console.domain.reasons import describe
from tms_console.domain.ticket_events import DeliveryStatus
from tms_console.security.identity import Identity
from tms_console.services import delivery_log
from tms_console.state.card_panel import CardPanel, when
from tms_console.state.integrations import IntegrationsState
from tms_console.state.session import current_identity, request_origin

RECENT = 25
RESENDABLE = (DeliveryStatus.DELIVERED.value, DeliveryStatus.FAILED.value)


@dataclass(frozen=True)
class DeliveryRow:
    """One delivery as the panel lists it."""

    id: str
    event: str  # "New ticket"
    ticket: str  # "#1042 Printer on fire"
    when: str
    status: str  # pending | delivered | failed | paused
    explanation: str
    attempts: int = 0
    next_retry: str = ""
    can_resend: bool = False


@dataclass(frozen=True)
class AttemptRow:
    """One attempt of the delivery opened in the panel."""

    number: int
    when: str
    outcome: str
    http_status: str
    duration: str
    explanation: str
    next_retry: str = ""


def delivery_row(view: delivery_log.DeliverySummary) -> DeliveryRow:
    return DeliveryRow(
        id=view.id,
        event=EVENT_LABELS.get(view.event_type, view.event_type),
        ticket=f"#{view.ticket_number} {view.ticket_subject}".strip(),
        when=when(view.created_at),
        status=view.status,
        explanation=view.explanation,
        attempts=view.attempts,
        next_retry=when(view.next_attempt_at),
        can_resend=view.status in RESENDABLE,
    )


def attempt_row(view: delivery_log.AttemptView) -> AttemptRow:
    return AttemptRow(
        number=view.attempt,
        when=when(view.started_at),
        outcome=view.outcome,
        http_status=str(view.http_status or ""),
        duration=f"{view.duration_ms} ms",
        explanation=view.explanation,
        next_retry=when(view.next_attempt_at),
    )


def _plain_id(value: object) -> str:
    """An id from the browser as a short string, or "" (the service decides whether it is ours)."""
    return value if isinstance(value, str) and 0 < len(value) <= 64 else ""


class ActivityState(CardPanel, IntegrationsState):
    """The open panel: which integration, its recent deliveries, one delivery's attempts."""

    activity_type: str = ""  # the integration whose panel is open
    activity_name: str = ""
    activity_rows: list[DeliveryRow] = []
    activity_total: int = 0
    activity_loading: bool = False
    activity_error: str = ""
    activity_notice: str = ""
    opened_delivery: str = ""  # the delivery whose attempts show
    opened_attempts: list[AttemptRow] = []
    busy_delivery: str = ""  # the delivery being resent
    retrying: bool = False

    def _mark_open(self, integration_type: str, name: str) -> None:
        self.activity_type, self.activity_name, self.activity_loading = integration_type, name, True

    def _reloadable(self) -> bool:
        if not self.activity_type:
            return False
        self.activity_loading = True
        return True

    @rx.event(background=True)
    async def open_activity(self, integration_type: str) -> EventSpec | None:
        """Open the panel of one integration and list its recent deliveries."""
        return await self._then_load(await self._open_panel(integration_type))

    @rx.event
    def close_activity(self) -> None:
        self.reset()

    @rx.event(background=True)
    async def refresh_activity(self) -> EventSpec | None:
        return await self._then_load(await self._reload_panel())

    async def _load_panel(self, identity: Identity) -> None:
        """The open integration's recent deliveries (no state lock while the database answers)."""
        async with self:
            query = delivery_log.LogQuery(integration_type=self.activity_type, page_size=RECENT)
            project_id = self.project_id
        try:
            page = await delivery_log.list_deliveries(identity, project_id, query)
            rows, total, error = [delivery_row(v) for v in page.deliveries], page.total, ""
        except ServiceError as exc:
            rows, total, error = [], 0, describe(exc.reason, "The console")
        async with self:
            if self.activity_type == query.integration_type:  # not closed or switched meanwhile
                self.activity_rows, self.activity_total, self.activity_error = rows, total, error
            self.activity_loading = False

    @rx.event(background=True)
    async def toggle_attempts(self, delivery_id: str) -> EventSpec | None:
        """Show (or hide) one delivery's attempts, read afresh."""
        async with self:
            identity, wanted = current_identity(self), _plain_id(delivery_id)
            if identity is None:
                return rx.redirect("/login")
            if not wanted or self.opened_delivery == wanted:
                self.opened_delivery, self.opened_attempts = "", []
                return None
            self.opened_delivery, self.opened_attempts, project_id = wanted, [], self.project_id
        try:
            detail = await delivery_log.get_delivery(identity, project_id, wanted)
            attempts, error = [attempt_row(a) for a in detail.attempts], ""
        except ServiceError as exc:
            attempts, error = [], describe(exc.reason, "The console")
        async with self:
            if self.opened_delivery == wanted:
                self.opened_attempts = attempts
                self.activity_error = error or self.activity_error
        return None

    @rx.event(background=True)
    async def resend_delivery(self, delivery_id: str) -> EventSpec | None:
        """Queue the delivery's event again (a new delivery), then list afresh."""
        async with self:
            identity, wanted, origin = current_identity(self), _plain_id(delivery_id), request_origin(self)
            if identity is None:
                return rx.redirect("/login")
            if not wanted or self.busy_delivery or not self.activity_type:
                return None
            self.busy_delivery, project_id, name = wanted, self.project_id, self.activity_name
        try:
            await delivery_log.resend(identity, project_id, wanted, origin=origin)
            notice, error = "Queued again: the new delivery is at the top of the list.", ""
        except ServiceError as exc:
            notice, error = "", describe(exc.reason, name)
        async with self:
            self.busy_delivery, self.activity_notice, self.activity_error = "", notice, error
        await self._load_panel(identity)
        return None

    @rx.event(background=True)
    async def retry_failed(self) -> EventSpec | None:
        """Resend every failed delivery of the open integration still in the log."""
        async with self:
            identity = current_identity(self)
            if identity is None:
                return rx.redirect("/login")
            if self.retrying or not self.activity_type:
                return None
            self.retrying, project_id, origin = True, self.project_id, request_origin(self)
            kind, name = self.activity_type, self.activity_name
        try:
            since = delivery_log.log_start()
            count = await delivery_log.retry_failed(identity, project_id, kind, since, origin=origin)
            notice, error = _queued(count), ""
        except ServiceError as exc:
            notice, error = "", describe(exc.reason, name)
        async with self:
            self.retrying, self.activity_notice, self.activity_error = False, notice, error
        await self._load_panel(identity)
        return None


def _queued(count: int) -> str:
    if count == 0:
        return "Nothing to retry: no delivery has failed."
    return f"{count} failed deliver{'y' if count == 1 else 'ies'} queued again."
