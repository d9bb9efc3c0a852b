"""The integrations page: thin adapter between events and the installation services."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import reflex as rx

from tms_console.domain.errors import ServiceError
from tms_console.domain.reasons import Reason, describe, parse_reason
from tms_console.providers.registry import PROVIDERS, get_provider
from tms_console.security.identity import Identity
from tms_console.services import connect, installations, setup
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


def _empty_hint(key: str) -> str:
    spec = get_provider(key)
    return spec.target_hint if spec and spec.target_hint else "Create one at the provider, then look again."


def _forms() -> dict[str, list[dict[str, str]]]:
    """Each provider's connect form, from the registry (data only: labels, kinds, choices)."""
    return {
        spec.key: [
            {
                "name": f.name,
                "label": f.label,
                "kind": f.kind,
                "help": f.help,
                "required": "yes" if f.required else "",
                "choices": "|".join(f.choices),
            }
            for f in spec.form_fields
        ]
        for spec in PROVIDERS.values()
        if spec.form_fields
    }


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
    tenant_id: str = ""
    flash_action: str = ""  # a follow-up link for the flash (e.g. Microsoft's admin consent)
    forms: dict[str, list[dict[str, str]]] = _forms()
    form_open: str = ""  # the provider whose connect form is open
    form_name: str = ""
    picking: str = ""  # the provider whose target (channel, space, chat) is being picked
    target_options: list[dict[str, str]] = []
    target_error: str = ""
    setup_open: str = ""
    setup: dict[str, str] = {}
    setup_env: list[dict[str, str]] = []
    setup_problems: list[str] = []
    setup_checked: bool = False
    setup_checking: bool = False
    setup_note: str = ""
    template_text: str = ""
    template_preview: str = ""
    template_error: str = ""
    testing: str = ""

    @rx.event
    async def load(self):  # type: ignore[no-untyped-def]
        """on_load: who is this, which project, and what is installed there."""
        identity = current_identity(self)
        if identity is None:
            yield rx.redirect("/login")
            return
        self.loading, self.load_error = True, ""
        # A page load closes whatever was open (the state outlives the page in Redis).
        self.form_open, self.picking, self.setup_open, self.confirm_type = "", "", "", ""
        self.template_text, self.template_preview, self.template_error = "", "", ""
        self.project_id = _project_from_path(self.router.url.path)
        self._flash_from_query(dict(self.router.url.query_parameters))
        self.user_name, self.user_role = identity.name, identity.role
        self.tenant_id = str(identity.tenant_id)
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
        self.flash_kind, self.flash_message, self.flash_action = "", "", ""
        key = query.get("integration", "")
        name = _provider_name(key)
        if query.get("status") == "success":
            self.flash_kind, self.flash_message = "success", describe(Reason.INSTALLED, name)
        elif query.get("status") in ("error", "info"):
            reason = parse_reason(query.get("reason")) or Reason.PROVIDER_ERROR
            calm = reason in (Reason.ACCESS_DENIED, Reason.ADMIN_CONSENT_GRANTED)
            self.flash_kind = "info" if calm else "error"
            self.flash_message = describe(reason, name)
            spec = get_provider(key)
            if reason is Reason.ADMIN_CONSENT_REQUIRED and spec and spec.admin_consent_path:
                self.flash_action = (
                    f"/api/console/integrations/{spec.key}/admin-consent?project_id={self.project_id}"
                )

    @rx.event
    def dismiss_flash(self) -> None:
        self.flash_kind, self.flash_message, self.flash_action = "", "", ""

    @rx.event
    def open_form(self, integration_type: str) -> None:
        """Show a provider's connect form (its values go to the REST API from the browser, not here)."""
        if current_identity(self) is not None and integration_type in self.forms:
            self.form_open, self.form_name = integration_type, _provider_name(integration_type)

    @rx.event
    def close_form(self) -> None:
        self.form_open, self.template_text, self.template_preview, self.template_error = "", "", "", ""

    @rx.event(background=True)
    async def edit_template(self, text: str):  # type: ignore[no-untyped-def]
        """Live preview of a payload template, rendered from a sample event (sandboxed, off the loop)."""
        async with self:
            if current_identity(self) is None or not self.form_open:
                return None
            integration_type, self.template_text = self.form_open, text[:20_000]
        try:
            rendered, error = await asyncio.to_thread(connect.preview, integration_type, text[:20_000]), ""
        except (ValueError, ServiceError) as exc:
            rendered, error = "", str(exc)[:500]
        async with self:
            if self.template_text == text[:20_000]:
                self.template_preview, self.template_error = rendered, error
        return None

    @rx.event
    def use_template(self, name: str):  # type: ignore[no-untyped-def]
        """Start from a ready-made template (Slack, Teams, Google Chat, Discord, generic)."""
        if current_identity(self) is None or not self.form_open:
            return None
        return IntegrationsState.edit_template(connect.ready_made(self.form_open, name))  # type: ignore[misc]

    @rx.event(background=True)
    async def send_test(self, integration_type: str):  # type: ignore[no-untyped-def]
        """Send the integration's test message and report how it went."""
        async with self:
            identity = current_identity(self)
            project_id = self.project_id
            if identity is None:
                return rx.redirect("/login")
            if self.testing:
                return None
            self.testing = integration_type
        name = _provider_name(integration_type)
        try:
            result = await connect.send_test(
                identity, project_id=project_id, integration_type=integration_type
            )
            kind, message = "success", f"{name}: test event sent. {result}."
        except ServiceError as exc:
            kind, message = "error", describe(exc.reason, name)
        async with self:
            self.testing = ""
            self.flash_kind, self.flash_message, self.flash_action = kind, message, ""
        return None

    @rx.event(background=True)
    async def start_pick(self, integration_type: str):  # type: ignore[no-untyped-def]
        """List where this integration can post, asking the provider (no state lock meanwhile)."""
        async with self:
            identity = current_identity(self)
            project_id = self.project_id
            if identity is None:
                return rx.redirect("/login")
            self.picking, self.target_options, self.target_error = integration_type, [], ""
        try:
            targets = await connect.list_targets(
                identity, project_id=project_id, integration_type=integration_type
            )
            options = [{"id": t.id, "name": t.name, "group": t.group} for t in targets]
            error = "" if options else "Nothing to pick yet. " + _empty_hint(integration_type)
        except ServiceError as exc:
            options, error = [], describe(exc.reason, _provider_name(integration_type))
        async with self:
            if self.picking == integration_type:
                self.target_options, self.target_error = options, error
        return None

    @rx.event
    def cancel_pick(self) -> None:
        self.picking, self.target_options, self.target_error = "", [], ""

    @rx.event(background=True)
    async def save_target(self, integration_type: str, target_id: str):  # type: ignore[no-untyped-def]
        """Store the picked target; the service accepts only an id the provider lists."""
        async with self:
            identity = current_identity(self)
            project_id = self.project_id
            if identity is None:
                return rx.redirect("/login")
        name = _provider_name(integration_type)
        try:
            await connect.choose_target(
                identity, project_id=project_id, integration_type=integration_type, target_id=target_id
            )
            kind, message = "success", describe(Reason.TARGET_SAVED, name)
        except ServiceError as exc:
            kind, message = "error", describe(exc.reason, name)
        async with self:
            self.picking, self.target_options = "", []
            self.flash_kind, self.flash_message, self.flash_action = kind, message, ""
            await self._refresh(identity)
        return None

    @rx.event
    def open_setup(self, integration_type: str) -> None:
        """The operator's view (admins): redirect URI, scopes, environment variables, known problems."""
        identity = current_identity(self)
        if identity is None or not identity.is_admin:
            return
        try:
            info = setup.describe(integration_type)
        except ServiceError:
            return
        self.setup_open = integration_type
        self.setup = {
            "name": info.name,
            "redirect_uri": info.redirect_uri,
            "scopes": " ".join(info.scopes),
            "sandbox": "yes" if info.stand_in else "",
            "docs_url": info.docs_url,
        }
        self.setup_env = [
            {"name": v.name, "required": "yes" if v.required else "", "set": "yes" if v.is_set else "",
             "purpose": v.purpose}
            for v in info.env
        ]  # fmt: skip
        self.setup_problems, self.setup_checked = info.problems, False
        self.setup_note = info.note

    @rx.event
    def close_setup(self) -> None:
        self.setup_open, self.setup_checked = "", False

    @rx.event(background=True)
    async def run_setup_check(self):  # type: ignore[no-untyped-def]
        """Ask the provider whether it accepts our configuration (no state lock during the call)."""
        async with self:
            identity = current_identity(self)
            if identity is None or not identity.is_admin or not self.setup_open or self.setup_checking:
                return None
            integration_type, self.setup_checking = self.setup_open, True
        try:
            problems = await setup.live_check(integration_type)
        except ServiceError as exc:
            problems = [describe(exc.reason, _provider_name(integration_type))]
        async with self:
            self.setup_problems, self.setup_checked, self.setup_checking = problems, True, False
        return None

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
