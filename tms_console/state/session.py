"""Who is calling: re-derived from the verified session cookie on every event.

Reflex event handlers are public endpoints; nothing here trusts event arguments or route data
for identity, and the cookie header is read server-side from the websocket handshake.
"""

from __future__ import annotations

import reflex as rx

from tms_console.security.identity import Identity
from tms_console.security.session import identity_from_cookie_header


def current_identity(state: rx.State) -> Identity | None:
    return identity_from_cookie_header(state.router.headers.cookie)
