"""Events the sandbox providers send to the console's events URL, signed as each real provider signs them
(PROVIDERS.md §1.9 Discord Ed25519, §2.9 Slack `v0`, §6.6 Meta `X-Hub-Signature-256`).

The keys are fixed dev values: `provider_env()` hands the console the matching verification keys the way
it hands over the client credentials. `GET /sandbox/apps` is the page with the buttons a developer (or
a browser test) presses: "Remove app", "Revoke tokens", "Deauthorize", "Remove partner"; each provider
module does its side (its tokens stop working) and sends the event through `EventSender`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from html import escape
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter
from fastapi.responses import Response

from sandbox import fixtures
from sandbox.pages import html_page
from sandbox.whatsapp_fixtures import BUSINESSES

# Fixed dev values, deliberately shorter than production accepts (16 characters).
SLACK_SIGNING_SECRET = "sbx-slack-sign"
WHATSAPP_VERIFY_TOKEN = "sbx-wa-verify"
_DISCORD_SEED = hashlib.sha256(b"tms-sandbox-discord-app").digest()
DELIVERY_TIMEOUT = httpx.Timeout(10.0)


def discord_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(_DISCORD_SEED)


def discord_public_key() -> str:
    """The app's public key as the Developer Portal shows it (hex): the console's DISCORD_PUBLIC_KEY."""
    return discord_private_key().public_key().public_bytes_raw().hex()


def slack_headers(body: bytes, timestamp: int, secret: str = SLACK_SIGNING_SECRET) -> dict[str, str]:
    base = b"v0:" + str(timestamp).encode() + b":" + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": signature}


def discord_headers(body: bytes, timestamp: int, key: Ed25519PrivateKey | None = None) -> dict[str, str]:
    signature = (key or discord_private_key()).sign(str(timestamp).encode() + body).hex()
    return {"X-Signature-Ed25519": signature, "X-Signature-Timestamp": str(timestamp)}


def meta_headers(body: bytes, app_secret: str) -> dict[str, str]:
    return {
        "X-Hub-Signature-256": "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    }


def encode(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def events_url(redirect_uri: str, provider: str) -> str:
    """The console's events URL, next to the redirect URI it registered (built from PUBLIC_BASE_URL)."""
    base = redirect_uri.split("/api/public/integrations/")[0]
    return f"{base}/api/public/integrations/{provider}/events"


@dataclass(frozen=True)
class Sent:
    """How the console answered one event."""

    status: int | None
    detail: str

    def html(self, title: str) -> Response:
        shown = f"HTTP {self.status}" if self.status is not None else self.detail
        body = (
            f"<h1>{escape(title)}</h1><p id='outcome' data-status='{self.status or 0}'>The console answered "
        )
        return html_page(
            title, body + f"{escape(shown)}.</p><p><a href='/sandbox/apps'>Back to the apps</a></p>"
        )


async def post(url: str, body: bytes, headers: dict[str, str]) -> Sent:
    """POST one signed event, once (the real providers retry; the tests send again themselves)."""
    headers = {"Content-Type": "application/json", "User-Agent": "sandbox-provider"} | headers
    async with httpx.AsyncClient(timeout=DELIVERY_TIMEOUT, follow_redirects=False) as client:
        try:
            response = await client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return Sent(None, type(exc).__name__)
    return Sent(response.status_code, response.text[:200])


def now() -> int:
    return int(time.time())


def add_routes(router: APIRouter) -> None:
    router.add_api_route("/sandbox/apps", apps_page, methods=["GET"])


async def apps_page() -> Response:
    """The provider-side controls of our app: what a workspace admin or a user does at the provider."""
    wabas = "".join(
        f'<button type="submit" id="whatsapp-remove-partner-{escape(w.id)}" name="waba_id" '
        f'value="{escape(w.id)}">'
        f"Remove partner from {escape(w.name)}</button>"
        for w in (waba for business in BUSINESSES for waba in business.wabas)
    )
    body = (
        "<h1>Installed apps (sandbox)</h1>"
        f"<h2>Slack: {escape(fixtures.SLACK_TEAM_NAME)}</h2>"
        '<form method="post" action="/sandbox/slack/apps/remove"><div class="actions">'
        '<button type="submit" id="slack-remove-app">Remove app</button></div></form>'
        '<form method="post" action="/sandbox/slack/apps/revoke"><div class="actions">'
        '<button type="submit" id="slack-revoke-tokens">Revoke tokens</button></div></form>'
        "<h2>Discord: authorized apps</h2>"
        '<form method="post" action="/sandbox/discord/apps/deauthorize"><div class="actions">'
        '<button type="submit" id="discord-deauthorize">Deauthorize</button></div></form>'
        "<h2>WhatsApp: partners of your accounts</h2>"
        f'<form method="post" action="/sandbox/whatsapp/apps/remove"><div class="actions" '
        f'style="flex-direction:column">{wabas}</div></form>'
        '<h2>Telegram</h2><p><a href="/sandbox/telegram/chats">Add or kick your bot</a></p>'
        '<p class="note">Each button does what the provider does and sends the console its signed event.</p>'
    )
    return html_page("Installed apps (sandbox)", body)
