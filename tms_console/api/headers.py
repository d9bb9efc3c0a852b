"""Security headers on every HTTP response the console sends: API, callback and the Reflex frontend.

Reflex's prerendered pages carry a few inline scripts (React Router's hydration data, the theme
bootstrap). They are fixed at build time, so the CSP allows exactly those by SHA-256 hash instead of
`'unsafe-inline'`. Styles need `'unsafe-inline'`: Emotion and Radix inject style elements at runtime.
A route that sets its own CSP or Referrer-Policy (the callback) keeps it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)

FIXED_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    # Popups (Meta's Embedded Signup) must keep their opener to hand back the result.
    (b"cross-origin-opener-policy", b"same-origin-allow-popups"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
]
# The frontend build's scripts and styles carry a content hash in their names: a returning browser
# keeps them instead of asking again on every page load (pages themselves are revalidated).
HASHED_ASSETS = "/assets/"
IMMUTABLE = (b"cache-control", b"public, max-age=31536000, immutable")


def _build_dir() -> Path | None:
    try:
        from reflex import constants
        from reflex.utils.prerequisites import get_web_dir
    except ImportError:  # the API served on its own (tests, tools)
        return None
    return get_web_dir() / constants.Dirs.STATIC


def inline_script_hashes(build_dir: Path | None) -> list[str]:
    """CSP hash sources of every inline script in the built pages (sorted, unique)."""
    if build_dir is None or not build_dir.is_dir():
        return []
    hashes = set()
    for page in build_dir.rglob("*.html"):
        for body in _INLINE_SCRIPT.findall(page.read_text("utf-8", "replace")):
            digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            hashes.add(f"'sha256-{digest}'")
    return sorted(hashes)


@functools.cache
def content_security_policy() -> bytes:
    scripts = " ".join(["'self'", *inline_script_hashes(_build_dir())])
    directives = [
        "default-src 'self'",
        f"script-src {scripts}",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives).encode()


class SecurityHeaders:
    """ASGI middleware adding the headers above (and the CSP) unless the route set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        hashed = scope["path"].startswith(HASHED_ASSETS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                wanted = [*FIXED_HEADERS, (b"content-security-policy", content_security_policy())]
                if hashed and message["status"] == 200:
                    wanted.append(IMMUTABLE)
                headers += [(name, value) for name, value in wanted if name not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
