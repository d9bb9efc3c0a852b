"""The console's session: the verified JWT in an HttpOnly, SameSite=Lax cookie.

Reflex handlers read it from the websocket's handshake headers (server-side only in Reflex 0.10),
so it never sits in JS-readable storage and is re-verified on every call.
"""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie

from tms_console.security.identity import AuthError, Identity, verify_token
from tms_console.settings import get_settings

SESSION_COOKIE = "tms_session"
BINDING_COOKIE = "tms_oauth_binding"
BINDING_COOKIE_PATH = "/api/public/integrations/"


def cookie_value(cookie_header: str, name: str) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie_header or "")
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None


def identity_from_cookie_header(cookie_header: str) -> Identity | None:
    """The identity of a Cookie header's session, or None when absent or no longer valid."""
    token = cookie_value(cookie_header, SESSION_COOKIE)
    if not token:
        return None
    try:
        identity = verify_token(token, get_settings())
    except AuthError:
        return None
    return None if identity.is_service else identity  # the TMS backend has no console session
