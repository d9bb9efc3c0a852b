"""Provider events signed the way the sandbox providers sign them, posted straight to the console's
events URL: for tests that need ids of their own (a workspace nobody else installed) or a tampered call."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from sandbox import app_events, credentials

SLACK_APP = "A0SBXAPP01"  # the sandbox's Slack app id (meta `app_id` of every sandbox install)
DISCORD_APP = credentials("discord")[0]
WHATSAPP_SECRET = credentials("whatsapp")[1]


def events_url(live_url: str, provider: str) -> str:
    return f"{live_url}/api/public/integrations/{provider}/events"


def slack_body(event: dict[str, Any], *, team: str, app: str = SLACK_APP, event_id: str = "") -> bytes:
    envelope = {
        "token": "x",
        "team_id": team,
        "api_app_id": app,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or "Ev" + secrets.token_hex(6).upper(),
        "event_time": app_events.now(),
    }
    return app_events.encode(envelope)


def slack_post(
    live_url: str, event: dict[str, Any], *, team: str, ts: int | None = None, **envelope: Any
) -> httpx.Response:
    body = slack_body(event, team=team, **envelope)
    headers = app_events.slack_headers(body, app_events.now() if ts is None else ts)
    return post(live_url, "slack", body, headers)


def discord_body(user_id: str, *, app: str = DISCORD_APP) -> bytes:
    event = {
        "type": "APPLICATION_DEAUTHORIZED",
        "timestamp": "2026-12-02T06:00:00+00:00",
        "data": {"user": {"id": user_id, "username": "someone"}},
    }
    return app_events.encode({"version": 1, "application_id": app, "type": 1, "event": event})


def whatsapp_body(waba_id: str, *, sent: int | None = None) -> bytes:
    value = {"event": "PARTNER_REMOVED", "waba_info": {"waba_id": waba_id, "owner_business_id": "1"}}
    entry = {"id": "1", "time": app_events.now() if sent is None else sent, "changes": [
        {"field": "account_update", "value": value}
    ]}  # fmt: skip
    return app_events.encode({"object": "whatsapp_business_account", "entry": [entry]})


def post(live_url: str, provider: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    headers = {"Content-Type": "application/json"} | headers
    return httpx.post(events_url(live_url, provider), content=body, headers=headers, timeout=20)
