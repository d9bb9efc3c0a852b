"""The card's event-type editor: which ticket events an installed integration receives, ticked in a dialog.

The ticks are display state only: saving sends them to the service, which checks the caller's tenant and
project again, validates the types and records the change in the audit trail.
"""

from __future__ import annotations

from dataclasses import replace

import reflex as rx
from reflex.event import EventSpec

from tms_console.domain.errors import ServiceError
from tms_console.domain.events import EVENT_TYPES
from tms_console.domain.reasons import Reason, describe
from tms_console.services import subscriptions
from tms_console.state.integrations import CardsState, IntegrationsState, provider_name
from tms_console.state.session import current_identity, request_origin
from tms_console.state.views import EventChoice, event_choices


class EventTypesState(IntegrationsState):
    """One card's choice of ticket event types while the agent edits it."""

    editing: str = ""  # the provider whose choice is open
    editing_name: str = ""
    choices: list[EventChoice] = []
    events_error: str = ""
    saving_events: bool = False

    @rx.event
    async def open_events(self, integration_type: str) -> EventSpec | None:
        """Open the editor with the card's current choice (installed cards only)."""
        if current_identity(self) is None:
            return rx.redirect("/login")
        cards = await self.get_state(CardsState)
        card = next((c for c in cards.cards if c.key == integration_type and c.events), None)
        if card is not None:
            self.editing, self.editing_name = card.key, card.name
            self.choices, self.events_error = event_choices(card.events), ""
        return None

    @rx.event
    def toggle_event(self, event_type: str) -> None:
        if not self.editing or not isinstance(event_type, str) or event_type not in EVENT_TYPES:
            return
        self.choices = [replace(c, picked=not c.picked) if c.value == event_type else c for c in self.choices]
        self.events_error = ""

    @rx.event
    def close_events(self) -> None:
        self.editing, self.editing_name, self.choices, self.events_error = "", "", [], ""

    @rx.event(background=True)
    async def save_events(self) -> EventSpec | None:
        """Store the ticked types; a refused choice keeps the editor open with the reason."""
        async with self:
            identity, project_id, origin = current_identity(self), self.project_id, request_origin(self)
            if identity is None:
                return rx.redirect("/login")
            if not self.editing or self.saving_events:
                return None
            integration_type = self.editing
            picked = [choice.value for choice in self.choices if choice.picked]
            self.saving_events = True
        name = provider_name(integration_type)
        try:
            await subscriptions.set_event_types(
                identity,
                project_id=project_id,
                integration_type=integration_type,
                events=picked,
                origin=origin,
            )
            error = ""
        except ServiceError as exc:
            error = exc.detail if exc.reason is Reason.INVALID_INPUT else describe(exc.reason, name)
        async with self:
            self.saving_events, self.events_error = False, error
            if not error:
                self.editing, self.editing_name, self.choices = "", "", []
                self._flash("success", describe(Reason.EVENTS_CHANGED, name))
                await (await self.get_state(CardsState))._reload(identity)
        return None
