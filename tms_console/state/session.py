"""Who is calling: re-derived from the verified session cookie on every event.

Reflex event handlers are public endpoints; nothing here trusts event arguments or route data
for identity, and the cookie header is read server-side from the websocket handshake.
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.middleware import Middleware

from tms_console.security.identity import Identity
from tms_console.security.session import identity_from_cookie_header
from tms_console.services.audit import Origin


def current_identity(state: Any) -> Identity | None:
    """The identity of the websocket's session cookie (handshake headers, never router_data)."""
    return identity_from_cookie_header(state.router.headers.cookie)


def request_origin(state: Any) -> Origin:
    """Where the websocket's client is (Reflex applies its trusted proxy hops), for the audit trail."""
    return Origin(state.router.session.client_ip or None, state.router.headers.user_agent or None)


class SessionOwnerState(rx.State):
    """Whose view-model the session's state tree holds (backend-only, never sent)."""

    _owner: str = ""


class SessionGuard(Middleware):
    """A state tree belongs to one identity; a different caller starts from a blank tree.

    Reflex keys state by the client token from the socket's query string, not by who is signed
    in: after a sign-out and sign-in in one tab (or with a copied token) the next hydrate would
    send the previous user's projects and cards. Before every event, including hydrate, the
    console's own states are reset when the session's identity is not the one that filled them.
    """

    async def preprocess(self, app: Any, state: Any, event: Any) -> None:
        identity = current_identity(state)
        owner = f"{identity.tenant_id}/{identity.user_id}" if identity else ""
        marker = await state.get_state(SessionOwnerState)
        if marker._owner == owner:
            return None
        for cls in _console_states(type(state)):
            substate = await state.get_state(cls)
            substate.reset()
        marker._owner = owner
        return None


def _console_states(root: Any) -> list[Any]:
    """Every state class of the console (a new one is covered without listing it here)."""
    found: list[Any] = []
    todo = list(root.get_substates())
    while todo:
        cls = todo.pop()
        todo.extend(cls.get_substates())
        if cls.__module__.startswith("tms_console.") and cls is not SessionOwnerState:
            found.append(cls)
    return found
