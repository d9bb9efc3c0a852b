"""The setup panel (admins): what to register at a provider, the settings read, and a live check."""

from __future__ import annotations

import reflex as rx

from tms_console.domain.errors import ServiceError
from tms_console.domain.reasons import describe
from tms_console.services import setup
from tms_console.state.integrations import IntegrationsState, provider_name
from tms_console.state.session import current_identity
from tms_console.state.views import EnvVarView, SetupView, env_var_views, setup_view


class SetupState(IntegrationsState):
    """One provider's setup as the operator sees it: redirect URI, scopes, variables, problems."""

    setup_open: str = ""  # the provider whose setup panel is open
    info: SetupView = SetupView()
    env: list[EnvVarView] = []
    problems: list[str] = []
    checked: bool = False  # the problems come from asking the provider, not only from the settings
    checking: bool = False

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
        self.setup_open, self.info, self.env = info.key, setup_view(info), env_var_views(info)
        self.problems, self.checked = info.problems, False

    @rx.event
    def close_setup(self) -> None:
        self.setup_open, self.checked = "", False

    @rx.event(background=True)
    async def run_setup_check(self) -> None:
        """Ask the provider whether it accepts our configuration (no state lock during the call)."""
        async with self:
            identity = current_identity(self)
            if identity is None or not identity.is_admin or not self.setup_open or self.checking:
                return
            integration_type, self.checking = self.setup_open, True
        try:
            problems = await setup.live_check(integration_type)
        except ServiceError as exc:
            problems = [describe(exc.reason, provider_name(integration_type))]
        async with self:
            self.problems, self.checked, self.checking = problems, True, False
