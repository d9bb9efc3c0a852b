"""The integrations page: thin adapter between events and the installation services."""

from __future__ import annotations

import dataclasses
import uuid

import reflex as rx

from tms_console.providers.registry import get_provider
from tms_console.security.identity import Identity
from tms_console.services import installations
from tms_console.services.errors import ServiceError
from tms_console.services.reasons import Reason, describe, parse_reason
from tms_console.state.session import current_identity

Card = dict[str, str]


def _card(view: installations.IntegrationView) -> Card:
    return {
        key: ("yes" if value is True else "" if value is False else str(value))
        for key, value in dataclasses.asdict(view).items()
    }


def _project_from_path(path: str) -> str:
    """`/projects/<uuid>/integrations` -> the uuid, or "" (route data is a hint, never authority)."""
    parts = path.strip("/").split("/")
    if len(parts) >= 2 and parts[0] == "projects":
        try:
            return str(uuid.UUID(parts[1]))
        except ValueError:
            return ""
    return ""


def _provider_name(key: str) -> str:
    spec = get_provider(key)
    return spec.name if spec else "The provider"


class IntegrationsState(rx.State):
    loading: bool = True
    load_error: str = ""
    project_id: str = ""
    project_name: str = ""
    projects: list[dict[str, str]] = []
    cards: list[Card] = []
    user_name: str = ""
    user_role: str = ""
    flash_kind: str = ""
    flash_message: str = ""
    confirm_type: str = ""
    confirm_name: str = ""
    busy_type: str = ""

    @rx.event
    async def load(self):  # type: ignore[no-untyped-def]
        """on_load: who is this, which project, and what is installed there."""
        identity = current_identity(self)
        if identity is None:
            yield rx.redirect("/login")
            return
        self.loading, self.load_error = True, ""
        self.project_id = _project_from_path(self.router.url.path)
        self._flash_from_query(dict(self.router.url.query_parameters))
        self.user_name, self.user_role = identity.name, identity.role
        yield
        await self._refresh(identity)

    async def _refresh(self, identity: Identity) -> None:
        try:
            projects = await installations.list_projects(identity)
            self.projects = [{"id": p.id, "name": p.name} for p in projects]
            names = {p.id: p.name for p in projects}
            if self.project_id not in names:
                self.cards, self.project_name = [], ""
                self.load_error = "This project does not exist or is not part of your organisation."
            else:
                self.project_name = names[self.project_id]
                views = await installations.list_integrations(identity, self.project_id)
                self.cards = [_card(v) for v in views]
        except ServiceError as exc:
            self.load_error = describe(exc.reason, "The console")
        self.loading = False

    def _flash_from_query(self, query: dict[str, str]) -> None:
        """Only fixed sentences: the query selects a message, it never supplies text."""
        self.flash_kind, self.flash_message = "", ""
        name = _provider_name(query.get("integration", ""))
        if query.get("status") == "success":
            self.flash_kind, self.flash_message = "success", describe(Reason.INSTALLED, name)
        elif query.get("status") == "error":
            reason = parse_reason(query.get("reason")) or Reason.PROVIDER_ERROR
            self.flash_kind = "info" if reason is Reason.ACCESS_DENIED else "error"
            self.flash_message = describe(reason, name)

    @rx.event
    def dismiss_flash(self) -> None:
        self.flash_kind, self.flash_message = "", ""

    @rx.event
    def switch_project(self, project_id: str):  # type: ignore[no-untyped-def]
        """Navigate to another project of the caller's tenant (the page re-checks on load)."""
        if current_identity(self) is None:
            return rx.redirect("/login")
        if any(p["id"] == project_id for p in self.projects):
            return rx.redirect(f"/projects/{project_id}/integrations")
        return None

    @rx.event
    def ask_uninstall(self, integration_type: str) -> None:
        if current_identity(self) is None:
            return
        card = next((c for c in self.cards if c["key"] == integration_type), None)
        if card is not None and card["status"] in ("connected", "needs_reconnect"):
            self.confirm_type, self.confirm_name = integration_type, card["name"]

    @rx.event
    def cancel_uninstall(self) -> None:
        self.confirm_type, self.confirm_name = "", ""

    @rx.event(background=True)
    async def confirm_uninstall(self, integration_type: str):  # type: ignore[no-untyped-def]
        """Revoke and delete without holding the state lock during provider calls.

        The type comes from the dialog; the service checks it against the caller's tenant and project.
        """
        async with self:
            identity = current_identity(self)
            project_id = self.project_id
            self.confirm_type, self.confirm_name = "", ""
            if identity is None:
                return rx.redirect("/login")
            if get_provider(integration_type) is None or self.busy_type:
                return None
            self.busy_type = integration_type
        name = _provider_name(integration_type)
        try:
            await installations.uninstall(identity, project_id=project_id, integration_type=integration_type)
            kind, message = "success", describe(Reason.UNINSTALLED, name)
        except ServiceError as exc:
            kind, message = "error", describe(exc.reason, name)
        async with self:
            self.flash_kind, self.flash_message = kind, message
            await self._refresh(identity)
            self.busy_type = ""
        return None
