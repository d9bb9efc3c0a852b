"""The wrong-account guard's question: a reinstall reached another provider account than the one
installed, so nothing was saved; replace the old account with the new one, or keep it (the default)?

The one-time id arrives in the page's query (`replace=`); it stays backend-only here, and the service
answers only to the agent who started the reinstall, in that project.
"""

from __future__ import annotations

import reflex as rx
from reflex.event import EventSpec

from tms_console.domain.errors import ServiceError
from tms_console.domain.reasons import Reason, describe
from tms_console.services import replacements
from tms_console.state.integrations import CardsState, IntegrationsState, provider_name
from tms_console.state.session import current_identity, request_origin


class ReplaceState(IntegrationsState):
    """Which replacement is asked about, by the two accounts' display names."""

    _replacement_id: str = ""
    replace_type: str = ""
    replace_provider: str = ""
    replace_expected: str = ""
    replace_found: str = ""
    deciding: bool = False

    @rx.event
    async def ask(self) -> None:
        """on_load, after the page's load: open the question when the page's query names a replacement
        waiting for this agent (the query is a hint; the service decides whose it is)."""
        identity = current_identity(self)
        replacement_id = str(self.router.url.query_parameters.get("replace", ""))
        if identity is None or not replacement_id or self._flash_reason is not Reason.WRONG_ACCOUNT:
            return
        try:
            waiting = await replacements.pending(identity, self.project_id, replacement_id[:64])
        except ServiceError:
            waiting = None
        if waiting is None:
            return
        self._replacement_id = replacement_id[:64]
        self.replace_type, self.replace_provider = waiting.integration_type, waiting.provider
        self.replace_expected, self.replace_found = waiting.expected, waiting.found

    @rx.event(background=True)
    async def decide(self, replace: bool) -> EventSpec | None:
        """Replace (only on the explicit button) or keep the old account; either way the question ends."""
        async with self:
            identity, project_id, origin = current_identity(self), self.project_id, request_origin(self)
            replacement_id, integration_type = self._replacement_id, self.replace_type
            if identity is None:
                return rx.redirect("/login")
            if not replacement_id or self.deciding:
                return None
            self.deciding = True
        name, expected = provider_name(integration_type), self.replace_expected
        try:
            reason = await replacements.decide(
                identity,
                project_id=project_id,
                replacement_id=replacement_id,
                replace=replace is True,
                ip=origin.ip,
                user_agent=origin.user_agent,
            )
            kind = "success" if reason is Reason.REPLACED else "info"
        except ServiceError as exc:
            reason, kind = exc.reason, "error"
        async with self:
            self.reset()
            self._flash(kind, describe(reason, name, expected))
            await (await self.get_state(CardsState))._reload(identity)
        return None

    @rx.event
    def keep_old(self) -> EventSpec | None:
        """Closing the question any other way is a refusal too (the default)."""
        if not self._replacement_id:
            return None
        return ReplaceState.decide(False)  # type: ignore[misc]  # Reflex types handler specs loosely
