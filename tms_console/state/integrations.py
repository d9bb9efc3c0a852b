"""The integrations page: who looks at which project, the page's flash message, and the provider cards.

Each concern of the page is its own substate of `IntegrationsState`: the cards (`CardsState`, below),
the connect dialogs (state/connect.py), the setup panel (state/setup_panel.py) and the target picker
(state/targets.py). Substates read the identity and project vars held here for display only: every
handler re-derives the caller from the session cookie, and the services check tenancy again.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import reflex as rx
from reflex.event import EventSpec

from tms_console.domain.errors import ServiceError
from tms_console.domain.reasons import Reason, describe, parse_reason
from tms_console.domain.status import CardStatus
from tms_console.logs import is_request_id
from tms_console.providers.registry import get_provider
from tms_console.security.identity import Identity
from tms_console.services import connect, installations
from tms_console.services.sample_message import SendTestFailed
from tms_console.state.session import current_identity, request_origin
from tms_console.state.views import CardView, ProjectOption, card_view, project_options

NOT_YOURS = "This project does not exist or is not part of your organisation."

# Cards with no row: there is nothing to uninstall.
NOTHING_INSTALLED = (CardStatus.NOT_CONNECTED, CardStatus.NOT_CONFIGURED, CardStatus.COMING_SOON)
# How often an open page re-reads its cards (its timer sends `CardsState.refresh`): a provider's event
# (an uninstall at Slack) or a delivery worker changes a status in another process, and the card follows
# without a reload.
WATCH_SECONDS = 4.0


def project_from_path(path: str) -> str:
    """`/projects/<uuid>/integrations` -> the uuid, or "" (route data is a hint, never authority)."""
    parts = path.strip("/").split("/")
    if len(parts) >= 2 and parts[0] == "projects":
        try:
            return str(uuid.UUID(parts[1]))
        except ValueError:
            return ""
    return ""


def provider_name(key: str) -> str:
    spec = get_provider(key)
    return spec.name if spec else "The provider"


class IntegrationsState(rx.State):
    """The page's shared part: identity and project (for display), the project list, the flash."""

    loading: bool = True
    load_error: str = ""
    project_id: str = ""
    project_name: str = ""
    projects: list[ProjectOption] = []
    user_name: str = ""
    user_role: str = ""
    tenant_id: str = ""
    flash_kind: str = ""
    flash_message: str = ""
    flash_action: str = ""  # a follow-up link for the flash (e.g. Microsoft's admin consent)
    flash_reference: str = ""  # the failed callback's request id, for a report (only a well-formed id)
    _flash_type: str = ""  # the integration and reason the page's query named (backend-only)
    _flash_reason: Reason | None = None

    @rx.event
    async def load(self) -> AsyncIterator[EventSpec | None]:
        """on_load: who is this, which project, and what is installed there."""
        identity = current_identity(self)
        if identity is None:
            yield rx.redirect("/login")
            return
        await self._start_afresh()
        self.loading, self.load_error = True, ""
        self.project_id = project_from_path(self.router.url.path)
        self._flash_from_query(dict(self.router.url.query_parameters))
        self.user_name, self.user_role = identity.name, identity.role
        self.tenant_id = str(identity.tenant_id)
        yield None  # the skeleton and the flash show while the services answer
        try:
            page = await installations.project_page(identity, self.project_id)
        except ServiceError as exc:
            self.load_error, self.loading = describe(exc.reason, "The console"), False
            return
        await self._show(page)

    async def _start_afresh(self) -> None:
        """A page load closes whatever was open: the state outlives the page (in Redis)."""
        for substate in type(self).get_substates():
            (await self.get_state(substate)).reset()

    async def _show(self, page: installations.ProjectPage) -> None:
        self.projects = project_options(page.projects)
        self.project_name = page.project.name if page.project else ""
        self.load_error = "" if page.project else NOT_YOURS
        cards = await self.get_state(CardsState)
        cards.cards = [card_view(view) for view in page.integrations]
        self.loading = False
        if self._flash_reason is Reason.WRONG_ACCOUNT:  # name the account installed, from the stored row
            installed = next((c for c in cards.cards if c.key == self._flash_type), None)
            account = installed.account if installed else ""
            self._flash("error", describe(Reason.WRONG_ACCOUNT, provider_name(self._flash_type), account))

    def _flash_from_query(self, query: dict[str, str]) -> None:
        """Only fixed sentences: the query selects a message, it never supplies text."""
        self._flash("", "")
        key = query.get("integration", "")
        name = provider_name(key)
        self._flash_type, self._flash_reason = key, None
        if query.get("status") == "success":
            self._flash("success", describe(Reason.INSTALLED, name))
        elif query.get("status") in ("error", "info"):
            reason = parse_reason(query.get("reason")) or Reason.PROVIDER_ERROR
            self._flash_reason = reason
            calm = reason in (Reason.ACCESS_DENIED, Reason.ADMIN_CONSENT_GRANTED)
            self._flash("info" if calm else "error", describe(reason, name))
            if is_request_id(query.get("ref")):
                self.flash_reference = query["ref"]
            spec = get_provider(key)
            if reason is Reason.ADMIN_CONSENT_REQUIRED and spec and spec.admin_consent_path:
                self.flash_action = (
                    f"/api/console/integrations/{spec.key}/admin-consent?project_id={self.project_id}"
                )

    def _flash(self, kind: str, message: str) -> None:
        self.flash_kind, self.flash_message, self.flash_action, self.flash_reference = kind, message, "", ""

    @rx.event
    def dismiss_flash(self) -> None:
        self._flash("", "")

    @rx.event
    def switch_project(self, project_id: str) -> EventSpec | None:
        """Navigate to another project of the caller's tenant (the page re-checks on load)."""
        if current_identity(self) is None:
            return rx.redirect("/login")
        if any(project.id == project_id for project in self.projects):
            return rx.redirect(f"/projects/{project_id}/integrations")
        return None


class CardsState(IntegrationsState):
    """The provider cards: the list, uninstalling one (asked, then confirmed), sending a test."""

    cards: list[CardView] = []
    confirm_type: str = ""
    confirm_name: str = ""
    busy_type: str = ""  # the card being uninstalled
    testing: str = ""  # the card sending a test message

    @rx.event(background=True)
    async def refresh(self) -> None:
        """Sent by the open page every WATCH_SECONDS (a timer in the tab, `pages/integrations.py`): the
        project's cards as they are now (one query, and a websocket frame only when something changed).
        The server keeps nothing for the tab between two rounds; a closed tab or another page sends none."""
        async with self:
            identity, project_id = current_identity(self), self.project_id
            still_here = project_from_path(self.router.url.path) == project_id  # not moved to /admin
            if identity is None or not project_id or not still_here or self.loading:
                return
        try:
            views = await installations.list_integrations(identity, project_id)
        except ServiceError:
            return  # an outage or a project no longer theirs: the cards keep what they showed
        cards = [card_view(view) for view in views]
        async with self:
            if self.project_id == project_id and cards != self.cards:
                self.cards = cards

    async def _reload(self, identity: Identity) -> None:
        """After an action changed a card: the project's cards as they are now."""
        try:
            views = await installations.list_integrations(identity, self.project_id)
        except ServiceError as exc:
            self.load_error = describe(exc.reason, "The console")
            return
        self.cards = [card_view(view) for view in views]

    @rx.event
    def ask_uninstall(self, integration_type: str) -> None:
        if current_identity(self) is None:
            return
        card = next((c for c in self.cards if c.key == integration_type), None)
        if card is not None and card.status not in NOTHING_INSTALLED:
            self.confirm_type, self.confirm_name = integration_type, card.name

    @rx.event
    def cancel_uninstall(self) -> None:
        self.confirm_type, self.confirm_name = "", ""

    @rx.event(background=True)
    async def confirm_uninstall(self, integration_type: str) -> EventSpec | None:
        """Revoke and delete without holding the state lock during provider calls.

        The type comes from the dialog; the service checks it against the caller's tenant and project.
        """
        async with self:
            identity, project_id, origin = current_identity(self), self.project_id, request_origin(self)
            self.confirm_type, self.confirm_name = "", ""
            if identity is None:
                return rx.redirect("/login")
            if get_provider(integration_type) is None or self.busy_type:
                return None
            self.busy_type = integration_type
        name = provider_name(integration_type)
        try:
            await installations.uninstall(
                identity, project_id=project_id, integration_type=integration_type, origin=origin
            )
            kind, message = "success", describe(Reason.UNINSTALLED, name)
        except ServiceError as exc:
            kind, message = "error", describe(exc.reason, name)
        async with self:
            self._flash(kind, message)
            await self._reload(identity)
            self.busy_type = ""
        return None

    @rx.event(background=True)
    async def send_test(self, integration_type: str) -> EventSpec | None:
        """Send the integration's test message and report how it went."""
        async with self:
            identity, project_id, origin = current_identity(self), self.project_id, request_origin(self)
            if identity is None:
                return rx.redirect("/login")
            if self.testing:
                return None
            self.testing = integration_type
        name = provider_name(integration_type)
        try:
            result = await connect.send_test(
                identity, project_id=project_id, integration_type=integration_type, origin=origin
            )
            kind, message = "success", f"{name}: test message sent. {result}"
        except SendTestFailed as exc:  # what the provider said, in plain words
            kind, message = "error", f"{name}: the test message was not delivered. {exc.detail}"
        except ServiceError as exc:
            kind, message = "error", describe(exc.reason, name)
        async with self:
            self.testing = ""
            self._flash(kind, message)
        return None
