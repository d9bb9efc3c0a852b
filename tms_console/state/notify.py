"""The admin's notification setting on /admin: which of the tenant's integrations tells the admins that
another one needs them. A thin adapter to services/notifications (admins only, re-checked there)."""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx

from tms_console.domain.errors import ServiceError
from tms_console.domain.reasons import describe
from tms_console.services import notifications
from tms_console.state.session import current_identity

NOBODY = "none"  # the select's value for "no notifications"


@dataclass(frozen=True)
class NotifyChoice:
    id: str
    label: str


class NotifyState(rx.State):
    notify_chosen: str = NOBODY
    notify_options: list[NotifyChoice] = []
    notify_notice: str = ""
    notify_error: str = ""

    def _show(self, setting: notifications.NotifySetting) -> None:
        self.notify_chosen = setting.chosen or NOBODY
        self.notify_options = [NotifyChoice(o.id, o.label) for o in setting.options]

    @rx.event(background=True)
    async def load_notify(self) -> None:
        """In the background: the page's load (and its first rows) does not wait for this card."""
        identity = current_identity(self)  # reading needs no lock; writing takes it once, at the end
        setting, error = None, ""
        if identity is not None and identity.is_admin:
            try:
                setting = await notifications.notify_setting(identity)
            except ServiceError as exc:
                error = describe(exc.reason, "The console")
        async with self:
            self.reset()
            self.notify_error = error
            if setting is not None:
                self._show(setting)

    @rx.event
    async def choose_notify(self, value: str) -> None:
        identity = current_identity(self)
        if identity is None or not identity.is_admin or not isinstance(value, str):
            return
        try:
            self._show(await notifications.choose_notify(identity, "" if value == NOBODY else value[:64]))
            self.notify_error = ""
            self.notify_notice = (
                "Saved: nobody is told." if value == NOBODY else "Saved: status changes are posted there."
            )
        except ServiceError as exc:
            self.notify_notice, self.notify_error = "", describe(exc.reason, "The console")
