"""The connect dialogs: a provider's form (bot token, webhook URL, ...) and its payload template preview.

What is typed into the form goes from the browser straight to the REST API (assets/console.js),
never through the websocket or this state; only the live template preview passes here.
"""

from __future__ import annotations

import asyncio

import reflex as rx
from reflex.event import EventSpec

from tms_console.domain.errors import ServiceError
from tms_console.providers.registry import get_provider
from tms_console.services import connect
from tms_console.state.integrations import IntegrationsState
from tms_console.state.session import current_identity
from tms_console.state.views import FormFieldView, form_field_view

MAX_TEMPLATE = 20_000


class ConnectState(IntegrationsState):
    """Which provider's connect form is open, its fields (labels and kinds only), and the preview."""

    form_open: str = ""  # the provider whose connect form is open
    form_name: str = ""
    form_fields: list[FormFieldView] = []
    template_text: str = ""
    template_preview: str = ""
    template_error: str = ""

    @rx.event
    def open_form(self, integration_type: str) -> None:
        """Show a provider's connect form (its values go to the REST API from the browser, not here)."""
        spec = get_provider(integration_type)
        if current_identity(self) is None or spec is None or not spec.form_fields:
            return
        self.form_open, self.form_name = spec.key, spec.name
        self.form_fields = [form_field_view(f) for f in spec.form_fields]

    @rx.event
    def close_form(self) -> None:
        self.form_open, self.template_text, self.template_preview, self.template_error = "", "", "", ""

    @rx.event(background=True)
    async def edit_template(self, text: str) -> None:
        """Live preview of a payload template, from a sample event (restricted renderer, off the loop)."""
        text = text[:MAX_TEMPLATE]
        async with self:
            if current_identity(self) is None or not self.form_open:
                return
            integration_type, self.template_text = self.form_open, text
        try:
            rendered, error = await asyncio.to_thread(connect.preview, integration_type, text), ""
        except (ValueError, ServiceError) as exc:
            rendered, error = "", str(exc)[:500]
        async with self:
            if self.template_text == text:  # a later keystroke has not overtaken this preview
                self.template_preview, self.template_error = rendered, error

    @rx.event
    def use_template(self, name: str) -> EventSpec | None:
        """Start from a ready-made template (Slack, Teams, Google Chat, Discord, generic)."""
        if current_identity(self) is None or not self.form_open:
            return None
        template = connect.ready_made(self.form_open, name)
        return ConnectState.edit_template(template)  # type: ignore[misc]  # Reflex types handler specs loosely
