"""What a card's panel (Activity, Audit) shares: opening it on one integration for the signed-in caller,
loading it again, and how its times read.

A state mixin: each panel keeps its own vars (and their names, which tests and the browser read) and says,
in `_mark_open` and `_reloadable`, which of them hold the open integration and its loading flag, and in
`_load_panel` how it reads its rows.
"""

from __future__ import annotations

from datetime import datetime

import reflex as rx
from reflex.event import EventSpec

from tms_console.providers.registry import get_provider
from tms_console.security.identity import Identity
from tms_console.state.integrations import provider_name
from tms_console.state.session import current_identity


def when(moment: datetime | None) -> str:
    """A moment as every panel row shows it (UTC, to the second), or "" for none."""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


class CardPanel(rx.State, mixin=True):
    """Opening and reloading a panel; the handlers stay in each panel's state."""

    def _mark_open(self, integration_type: str, name: str) -> None:
        """Mark the panel open on this integration and loading (the panel names its own vars)."""
        raise NotImplementedError

    def _reloadable(self) -> bool:
        """Whether a reload makes sense now; if so, mark the panel loading."""
        raise NotImplementedError

    async def _load_panel(self, identity: Identity) -> None:
        """Read the open panel's rows for this caller (no state lock while the database answers)."""
        raise NotImplementedError

    async def _then_load(self, caller: Identity | EventSpec | None) -> EventSpec | None:
        """Load the panel when the opening or reload gave a caller; else pass its answer on."""
        if not isinstance(caller, Identity):
            return caller
        await self._load_panel(caller)
        return None

    async def _open_panel(self, integration_type: object) -> Identity | EventSpec | None:
        """A fresh panel on a known integration: the caller to load it for, a redirect, or None (ignored)."""
        async with self:
            identity = current_identity(self)
            if identity is None:
                return rx.redirect("/login")
            if not isinstance(integration_type, str) or get_provider(integration_type) is None:
                return None
            self.reset()
            self._mark_open(integration_type, provider_name(integration_type))
        return identity

    async def _reload_panel(self) -> Identity | EventSpec | None:
        """The caller to load the open panel again for, a redirect, or None (nothing to reload)."""
        async with self:
            identity = current_identity(self)
            if identity is None:
                return rx.redirect("/login")
            if not self._reloadable():
                return None
        return identity
