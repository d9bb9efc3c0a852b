"""The sandbox providers' app controls ("Remove app", "Revoke tokens", "Deauthorize", "Remove partner"): what
each one kills at the provider (a sandbox kinder than the real one hides bugs), and the signed event it
sends to the app's events URL, captured by a receiver standing in for the console."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response

from sandbox import app_events, create_sandbox_router
from tests.integration.sandbox import test_discord_sandbox as discord
from tests.integration.sandbox import test_slack_sandbox as slack
from tests.integration.sandbox import test_whatsapp_sandbox as whatsapp
from tests.utils.live import free_port, serve_app
from tms_console.domain.status import IntegrationStatus
from tms_console.providers.registry import HOOKS

CANARY = "CANARYappev7d1"
Received = list[tuple[str, dict[str, str], bytes]]


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[str, Received]]:
    """A stand-in console that records every event posted to its events URLs and answers 200."""
    received: Received = []
    app = FastAPI()

    @app.post("/api/public/integrations/{provider}/events")
    async def record(provider: str, request: Request) -> Response:
        received.append((provider, {k.lower(): v for k, v in request.headers.items()}, await request.body()))
        return Response(status_code=200)

    with serve_app(app, free_port()) as url:
        yield url, received


@pytest.fixture(scope="module")
async def client(redis_url: str, receiver: tuple[str, Received]) -> AsyncIterator[httpx.AsyncClient]:
    """The sandbox apps of the provider tests (their redirect URIs name a console that does not exist),
    with their events going to the receiver instead."""
    apps = {"slack": slack.APP, "discord": discord.APP, "whatsapp": whatsapp.APP}
    api = FastAPI()
    api.include_router(create_sandbox_router(redis_url=redis_url, apps=apps, canary=CANARY))
    with pytest.MonkeyPatch.context() as patch:
        url = f"{receiver[0]}/api/public/integrations/{{key}}/events"
        patch.setattr(app_events, "events_url", lambda _uri, key: url.format(key=key))
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as http:
            yield http


def last(received: Received, provider: str) -> tuple[dict[str, str], bytes]:
    found = [(headers, body) for name, headers, body in received if name == provider]
    assert found, received
    return found[-1]


async def test_apps_page_has_every_button(client: httpx.AsyncClient) -> None:
    page = await client.get("/sandbox/apps")
    assert page.status_code == 200
    for button in (
        "slack-remove-app",
        "slack-revoke-tokens",
        "discord-deauthorize",
        "whatsapp-remove-partner-",
    ):
        assert f'id="{button}' in page.text


async def test_slack_remove_app_kills_tokens_and_webhooks_and_sends_a_signed_event(
    client: httpx.AsyncClient, receiver: tuple[str, Received]
) -> None:
    installed = await slack.install(client, slack.APP)
    token, hook = installed["access_token"], installed["incoming_webhook"]["url"]
    hook_path = hook.split("http://sandbox.test", 1)[-1]
    assert (await client.post(f"{slack.API}/auth.test", headers=slack.bearer(token))).json()["ok"] is True

    page = await client.post("/sandbox/slack/apps/remove")
    assert "data-status='200'" in page.text
    assert (await client.post(f"{slack.API}/auth.test", headers=slack.bearer(token))).json() == {
        "ok": False,
        "error": "token_revoked",
    }
    assert (await client.post(hook_path, json={"text": "x"})).status_code == 404

    headers, body = last(receiver[1], "slack")
    verified = HOOKS["slack"].read_event(
        headers, body, {"signing_secret": app_events.SLACK_SIGNING_SECRET}, app_events.now()
    )
    assert [(e.to, e.reason) for e in verified.events] == [
        (IntegrationStatus.NEEDS_RECONNECT, "uninstalled_by_provider")
    ]
    assert json.loads(body)["event"]["type"] == "app_uninstalled"


async def test_slack_revoke_tokens_keeps_webhooks(
    client: httpx.AsyncClient, receiver: tuple[str, Received]
) -> None:
    installed = await slack.install(client, slack.APP)
    token, hook = installed["access_token"], installed["incoming_webhook"]["url"]
    await client.post("/sandbox/slack/apps/revoke")
    answer = await client.post(f"{slack.API}/auth.test", headers=slack.bearer(token))
    assert answer.json()["error"] == "token_revoked"
    assert (await client.post(hook.split("http://sandbox.test", 1)[-1], json={"text": "x"})).text == "ok"
    event: dict[str, Any] = json.loads(last(receiver[1], "slack")[1])["event"]
    assert event["type"] == "tokens_revoked" and event["tokens"]["bot"]


async def test_discord_deauthorize_kills_the_authorization_and_its_webhooks(
    client: httpx.AsyncClient, receiver: tuple[str, Received]
) -> None:
    installed = await discord.install(client)
    bearer = {"Authorization": f"Bearer {installed['access_token']}"}
    me = await client.get("/sandbox/discord/api/v10/users/@me", headers=bearer)
    assert me.status_code == 200 and me.json()["id"] == "1180000000000000001"
    webhook = installed["webhook"]
    await client.post("/sandbox/discord/apps/deauthorize")
    assert (await client.get("/sandbox/discord/api/v10/users/@me", headers=bearer)).status_code == 401
    gone = await client.post(
        f"/sandbox/discord/api/webhooks/{webhook['id']}/{webhook['token']}", json={"content": "x"}
    )
    assert gone.status_code == 404
    headers, body = last(receiver[1], "discord")
    verified = HOOKS["discord"].read_event(
        headers, body, {"public_key": app_events.discord_public_key()}, app_events.now()
    )
    match = {"application_id": discord.APP.client_id, "user_id": "1180000000000000001"}
    assert [dict(e.match) for e in verified.events] == [match]


async def test_whatsapp_remove_partner_ends_the_grant_of_that_account(
    client: httpx.AsyncClient, receiver: tuple[str, Received]
) -> None:
    token, ids = await whatsapp.install(
        client, waba_id=whatsapp.ACME_SUPPORT, phone_number_id=whatsapp.SUPPORT_PHONE
    )
    assert (
        await client.post(
            f"{whatsapp.GRAPH}/{ids['waba_id']}/subscribed_apps", headers=whatsapp.bearer(token)
        )
    ).status_code == 200
    await client.post("/sandbox/whatsapp/apps/remove", data={"waba_id": whatsapp.ACME_SUPPORT})
    refused = await client.get(
        f"{whatsapp.GRAPH}/{ids['waba_id']}/phone_numbers", headers=whatsapp.bearer(token)
    )
    whatsapp.graph_error(refused, 401, 190)
    headers, body = last(receiver[1], "whatsapp")
    keys = {"app_secret": whatsapp.APP.client_secret}
    verified = HOOKS["whatsapp"].read_event(headers, body, keys, app_events.now())
    assert [dict(e.match) for e in verified.events] == [{"waba_id": whatsapp.ACME_SUPPORT}]
    unknown = await client.post("/sandbox/whatsapp/apps/remove", data={"waba_id": "1"})
    assert unknown.status_code == 400
