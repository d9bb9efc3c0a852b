"""The target picker: where a connected integration posts (a channel, a space, a chat)."""

from __future__ import annotations

import reflex as rx
from reflex.event import EventSpec

from tms_console.domain.errors import ServiceError
from tms_console.domain.reasons import Reason, describe
from tms_console.providers.registry import get_provider
from tms_console.services import connect
from tms_console.state.integrations import CardsState, IntegrationsState, provider_name
from tms_console.state.session import current_identity, request_origin
from tms_console.state.views import TargetOption, target_option


def _empty_hint(key: str) -> str:
    spec = get_provider(key)
    return spec.target_hint if spec and spec.target_hint else "Create one at the provider, then look again."


class TargetPickerState(IntegrationsState):
    """The provider's current list of targets for one card, asked for when the agent opens the picker."""

    picking: str = ""  # the provider whose target is being picked
    target_options: list[TargetOption] = []
    target_error: str = ""
    entry_error: str = ""  # why a typed target (a recipient's number) was refused

    @rx.event(background=True)
    async def start_pick(self, integration_type: str) -> EventSpec | None:
        """List where this integration can post, asking the provider (no state lock meanwhile)."""
        async with self:
            identity, project_id = current_identity(self), self.project_id
            if identity is None:
                return rx.redirect("/login")
            self.picking, self.target_options, self.target_error = integration_type, [], ""
            self.entry_error = ""
        if connect.target_is_typed(integration_type):
            return None  # the card shows an input: there is no list to ask the provider for
        try:
            targets = await connect.list_targets(
                identity, project_id=project_id, integration_type=integration_type
            )
            options = [target_option(t) for t in targets]
            error = "" if options else "Nothing to pick yet. " + _empty_hint(integration_type)
        except ServiceError as exc:
            options, error = [], describe(exc.reason, provider_name(integration_type))
        async with self:
            if self.picking == integration_type:  # not cancelled or replaced meanwhile
                self.target_options, self.target_error = options, error
        return None

    @rx.event
    def cancel_pick(self) -> None:
        self.picking, self.target_options, self.target_error, self.entry_error = "", [], "", ""

    @rx.event(background=True)
    async def save_entered(self, form_data: dict[str, object]) -> EventSpec | None:
        """Store a typed target (the entry form's `target`); a refused value keeps the form open."""
        async with self:
            identity, project_id, integration_type = current_identity(self), self.project_id, self.picking
            origin = request_origin(self)
            if identity is None:
                return rx.redirect("/login")
        value = form_data.get("target") if isinstance(form_data, dict) else None
        if not integration_type or not isinstance(value, str) or len(value) > 64:
            async with self:
                self.entry_error = "Enter a phone number with its country code, e.g. +15551234567."
            return None
        name = provider_name(integration_type)
        try:
            await connect.choose_target(
                identity,
                project_id=project_id,
                integration_type=integration_type,
                target_id=value,
                origin=origin,
            )
        except ServiceError as exc:
            async with self:
                invalid = exc.reason is Reason.INVALID_INPUT
                self.entry_error = exc.detail if invalid else describe(exc.reason, name)
            return None
        async with self:
            self.picking, self.entry_error = "", ""
            self._flash("success", describe(Reason.TARGET_SAVED, name))
            await (await self.get_state(CardsState))._reload(identity)
        return None

    @rx.event(background=True)
    async def save_target(self, integration_type: str, target_id: str) -> EventSpec | None:
        """Store the picked target; the service accepts only an id the provider lists."""
        async with self:
            identity, project_id, origin = current_identity(self), self.project_id, request_origin(self)
            if identity is None:
                return rx.redirect("/login")
        name = provider_name(integration_type)
        try:
            await connect.choose_target(
                identity,
                project_id=project_id,
                integration_type=integration_type,
                target_id=target_id,
                origin=origin,
            )
            kind, message = "success", describe(Reason.TARGET_SAVED, name)
        except ServiceError as exc:
            kind, message = "error", describe(exc.reason, name)
        async with self:
            self.picking, self.target_options = "", []
            self._flash(kind, message)
            cards = await self.get_state(CardsState)
            await cards._reload(identity)
        return None
