"""The Discord sandbox speaks Discord's wire format (PROVIDERS.md §1), state in real Redis."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from sandbox import SandboxApp, create_sandbox_router, discord, sandbox_bot_token
from tests.utils.forms import FormFields

CANARY = "CANARYdiscord7f3a"
REDIRECT = "http://console.test/api/public/integrations/discord/callback"
APP = SandboxApp("157730590492196864", "discord-sandbox-secret", REDIRECT, name="TMS <Console>")
AUTHORIZE = "/sandbox/discord/oauth2/authorize"
TOKEN = "/sandbox/discord/api/oauth2/token"
GUILDS = "/sandbox/discord/api/v10/users/@me/guilds"
INSPECT = "/sandbox/discord/_inspect"
ACME, GLOBEX = "1180000000000000101", "1180000000000000201"
ACME_ALERTS, GLOBEX_OPS = "1180000000000000113", "1180000000000000212"
BASIC = {"Authorization": "Basic " + base64.b64encode(b"157730590492196864:discord-sandbox-secret").decode()}


async def make_client(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(create_sandbox_router(redis_url=redis_url, apps={"discord": APP}, canary=CANARY))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as http:
        yield http


@pytest.fixture(scope="module")
async def client(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for http in make_client(redis_url):
        yield http


def authorize_query(**overrides: str) -> dict[str, str]:
    query = {
        "response_type": "code",
        "client_id": APP.client_id,
        "scope": "identify guilds bot webhook.incoming",
        "redirect_uri": REDIRECT,
        "state": "st-" + "x" * 40,
        "permissions": "84992",
        "prompt": "consent",
    }
    return query | overrides


async def submit(http: httpx.AsyncClient, decision: str, **query: str) -> httpx.Response:
    page = await http.get(AUTHORIZE, params=authorize_query(**query))
    assert page.status_code == 200, page.text
    form = FormFields()
    form.feed(page.text)
    return await http.post(AUTHORIZE, data=form.fields | {"decision": decision})


def callback_query(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


async def install(http: httpx.AsyncClient, **query: str) -> dict[str, Any]:
    code = callback_query(await submit(http, "approve", **query))["code"]
    response = await http.post(
        TOKEN,
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        headers=BASIC,
    )
    assert response.status_code == 200, response.text
    return response.json()


async def counters(http: httpx.AsyncClient) -> dict[str, Any]:
    return (await http.get(INSPECT)).json()


async def test_consent_page_renders_and_escapes(client: httpx.AsyncClient) -> None:
    hostile = '<script>alert("x")</script>'
    response = await client.get(AUTHORIZE, params=authorize_query(state=hostile, guild_id=GLOBEX))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "Discord (sandbox) — authorize TMS &lt;Console&gt;" in page
    for element in ('id="approve"', 'id="cancel"', 'id="guild" name="guild_id"', 'id="channel"'):
        assert element in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert f'<option value="{GLOBEX}" selected>' in page
    assert "webhook.incoming" in page and "Acme Support HQ" in page and "#ops-alerts" in page


async def test_wrong_redirect_uri_is_an_error_page_without_redirect(client: httpx.AsyncClient) -> None:
    for uri in (REDIRECT + "/", REDIRECT.upper(), "https://evil.test/cb", ""):
        response = await client.get(AUTHORIZE, params=authorize_query(redirect_uri=uri))
        assert response.status_code == 400 and "location" not in response.headers
        assert "redirect_uri" in response.text
    posted = await client.post(
        AUTHORIZE, data=authorize_query(redirect_uri="https://evil.test/cb", decision="approve")
    )
    assert posted.status_code == 400 and "location" not in posted.headers


async def test_unknown_client_is_an_error_page(client: httpx.AsyncClient) -> None:
    response = await client.get(AUTHORIZE, params=authorize_query(client_id="999"))
    assert response.status_code == 400 and "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")


async def test_duplicated_parameter_is_rejected(client: httpx.AsyncClient) -> None:
    query = urlencode(authorize_query()) + "&state=second"
    response = await client.get(f"{AUTHORIZE}?{query}")
    assert response.status_code == 400 and "location" not in response.headers


async def test_bad_scope_and_response_type_redirect_with_error(client: httpx.AsyncClient) -> None:
    for overrides, error in (
        ({"scope": "bot nonsense"}, "invalid_scope"),
        ({"scope": ""}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ):
        query = callback_query(await client.get(AUTHORIZE, params=authorize_query(**overrides)))
        assert query["error"] == error and query["state"] == "st-" + "x" * 40


async def test_cancel_redirects_with_access_denied_and_state(client: httpx.AsyncClient) -> None:
    response = await submit(client, "cancel", state="a b&c=d/é")
    assert response.headers["location"] == (
        REDIRECT + "?error=access_denied&error_description=The+resource+owner+or+authorization"
        "+server+denied+the+request&state=a+b%26c%3Dd%2F%C3%A9"
    )


async def test_approve_and_exchange_returns_guild_and_webhook(client: httpx.AsyncClient) -> None:
    callback = callback_query(await submit(client, "approve", state="a b&c=d/é"))
    assert callback["state"] == "a b&c=d/é"
    assert callback["guild_id"] == ACME and callback["permissions"] == "84992"
    form = {"grant_type": "authorization_code", "code": callback["code"], "redirect_uri": REDIRECT}
    response = await client.post(TOKEN, data=form, headers=BASIC)
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "scope",
        "guild",
        "webhook",
    }
    assert body["token_type"] == "Bearer" and body["expires_in"] == 604800
    assert body["scope"] == "identify guilds bot webhook.incoming"
    guild = body["guild"]
    assert set(guild) == {
        "id",
        "name",
        "icon",
        "owner_id",
        "roles",
        "features",
        "system_channel_id",
        "preferred_locale",
    }
    assert guild["id"] == ACME and guild["name"] == "Acme Support HQ"
    webhook = body["webhook"]
    assert set(webhook) == {
        "application_id",
        "name",
        "url",
        "channel_id",
        "token",
        "type",
        "avatar",
        "guild_id",
        "id",
    }
    assert webhook["type"] == 1 and webhook["avatar"] is None and webhook["application_id"] == APP.client_id
    assert (webhook["guild_id"], webhook["channel_id"]) == (ACME, "1180000000000000112")
    assert (
        webhook["url"]
        == f"http://sandbox.test/sandbox/discord/api/webhooks/{webhook['id']}/{webhook['token']}"
    )
    for secret in (body["access_token"], body["refresh_token"], webhook["token"]):
        assert CANARY in secret


async def test_scope_decides_extra_keys(client: httpx.AsyncClient) -> None:
    body = await install(client, scope="identify")
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    body = await install(client, scope="webhook.incoming", guild_id=GLOBEX)
    assert "guild" not in body and body["webhook"]["guild_id"] == GLOBEX
    assert body["webhook"]["channel_id"] == GLOBEX_OPS
    assert "webhook" not in await install(client, scope="bot")


async def test_channel_must_belong_to_guild(client: httpx.AsyncClient) -> None:
    fields = authorize_query(guild_id=GLOBEX, channel_id=ACME_ALERTS, decision="approve")
    response = await client.post(AUTHORIZE, data=fields)
    assert response.status_code == 400 and "location" not in response.headers


async def test_code_is_single_use(client: httpx.AsyncClient) -> None:
    code = callback_query(await submit(client, "approve"))["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    assert (await client.post(TOKEN, data=form, headers=BASIC)).status_code == 200
    replay = await client.post(TOKEN, data=form, headers=BASIC)
    assert replay.status_code == 400
    assert replay.json() == {"error": "invalid_grant", "error_description": 'Invalid "code" in request.'}


async def test_codes_expire(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discord, "QUIRKS", replace(discord.QUIRKS, code_ttl=1.0))  # Discord's is 100 s
    async for http in make_client(redis_url):
        stale = callback_query(await submit(http, "approve"))["code"]
        await asyncio.sleep(1.2)
        fresh = callback_query(await submit(http, "approve"))["code"]
        form = {"grant_type": "authorization_code", "redirect_uri": REDIRECT}
        assert (await http.post(TOKEN, data=form | {"code": fresh}, headers=BASIC)).status_code == 200
        expired = await http.post(TOKEN, data=form | {"code": stale}, headers=BASIC)
        assert expired.json() == {"error": "invalid_grant", "error_description": 'Invalid "code" in request.'}


async def test_redirect_uri_must_match_authorize(client: httpx.AsyncClient) -> None:
    code = callback_query(await submit(client, "approve"))["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT + "x"}
    response = await client.post(TOKEN, data=form, headers=BASIC)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


async def test_json_body_is_rejected_and_counted(client: httpx.AsyncClient) -> None:
    before = await counters(client)
    code = callback_query(await submit(client, "approve"))["code"]
    body = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    response = await client.post(TOKEN, json=body, headers=BASIC)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert (await counters(client))["token_exchanges"] == before["token_exchanges"] + 1


async def test_client_auth_by_body_or_basic_and_wrong_secret(client: httpx.AsyncClient) -> None:
    code = callback_query(await submit(client, "approve", scope="identify"))["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    wrong = form | {"client_id": APP.client_id, "client_secret": "nope"}
    response = await client.post(TOKEN, data=wrong)
    assert response.status_code == 401 and response.json() == {"error": "invalid_client"}
    bad_basic = {"Authorization": "Basic " + base64.b64encode(f"{APP.client_id}:nope".encode()).decode()}
    assert (await client.post(TOKEN, data=form, headers=bad_basic)).status_code == 401
    assert (await client.post(TOKEN, data=form)).status_code == 401
    for header in (b"Basic \xff\xfe", b"Basic !!!", b"Basic " + base64.b64encode(b"\xff:\xfe")):
        assert (await client.post(TOKEN, data=form, headers={b"Authorization": header})).status_code == 401
    right = form | {"client_id": APP.client_id, "client_secret": APP.client_secret}
    assert (await client.post(TOKEN, data=right)).status_code == 200


async def test_unsupported_grant_type(client: httpx.AsyncClient) -> None:
    response = await client.post(TOKEN, data={"grant_type": "password"}, headers=BASIC)
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"


async def test_guilds_endpoint_needs_bearer_with_guilds_scope(client: httpx.AsyncClient) -> None:
    body = await install(client)
    response = await client.get(GUILDS, headers={"Authorization": f"Bearer {body['access_token']}"})
    assert response.status_code == 200
    guilds = response.json()
    assert [g["name"] for g in guilds] == ["Acme Support HQ", "Globex Ops Center"]
    assert set(guilds[0]) == {"id", "name", "icon", "banner", "owner", "permissions", "features"}
    unauthorized = {"message": "401: Unauthorized", "code": 0}
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Bot {body['access_token']}"}):
        response = await client.get(GUILDS, headers=headers)
        assert response.status_code == 401 and response.json() == unauthorized
    narrow = await install(client, scope="identify")
    response = await client.get(GUILDS, headers={"Authorization": f"Bearer {narrow['access_token']}"})
    assert response.status_code == 401


async def test_channels_need_the_bot_token_and_an_installed_guild(client: httpx.AsyncClient) -> None:
    body = await install(client, scope="bot", guild_id=GLOBEX)
    path = f"/sandbox/discord/api/v10/guilds/{GLOBEX}/channels"
    bot = {"Authorization": f"Bot {sandbox_bot_token(CANARY)}"}
    response = await client.get(path, headers=bot)
    assert response.status_code == 200
    assert {c["type"] for c in response.json()} == {0, 4}
    assert all(c["guild_id"] == GLOBEX for c in response.json())
    for headers in ({}, {"Authorization": f"Bearer {body['access_token']}"}, {"Authorization": "Bot nope"}):
        assert (await client.get(path, headers=headers)).status_code == 401
    leave = await client.delete(f"/sandbox/discord/api/v10/users/@me/guilds/{GLOBEX}", headers=bot)
    assert leave.status_code == 204
    gone = await client.get(path, headers=bot)
    assert gone.status_code == 403 and gone.json() == {"message": "Missing Access", "code": 50001}
    unknown = await client.get("/sandbox/discord/api/v10/guilds/42/channels", headers=bot)
    assert unknown.status_code == 404 and unknown.json()["code"] == 10004


async def test_refresh_rotates_the_pair(client: httpx.AsyncClient) -> None:
    first = await install(client, scope="identify guilds")
    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    response = await client.post(TOKEN, data=form, headers=BASIC)
    assert response.status_code == 200
    second = response.json()
    assert set(second) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert CANARY in second["access_token"] and second["access_token"] != first["access_token"]
    replay = await client.post(TOKEN, data=form, headers=BASIC)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    old = await client.get(GUILDS, headers={"Authorization": f"Bearer {first['access_token']}"})
    new = await client.get(GUILDS, headers={"Authorization": f"Bearer {second['access_token']}"})
    assert (old.status_code, new.status_code) == (401, 200)


async def test_revoke_kills_every_token_of_the_authorization(client: httpx.AsyncClient) -> None:
    before = await counters(client)
    body = await install(client)
    form = {"token": body["access_token"], "token_type_hint": "access_token"}
    response = await client.post(
        f"{TOKEN}/revoke", data=form | {"client_id": APP.client_id, "client_secret": APP.client_secret}
    )
    assert response.status_code == 200 and response.json() == {}
    guilds = await client.get(GUILDS, headers={"Authorization": f"Bearer {body['access_token']}"})
    assert guilds.status_code == 401
    refresh = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    assert (await client.post(TOKEN, data=refresh, headers=BASIC)).json()["error"] == "invalid_grant"
    assert (await counters(client))["revocations"] == before["revocations"] + 1
    unauthenticated = await client.post(f"{TOKEN}/revoke", data=form)
    assert unauthenticated.status_code == 401


async def test_webhook_delivery_is_recorded(client: httpx.AsyncClient) -> None:
    webhook = (await install(client, scope="webhook.incoming"))["webhook"]
    path = urlsplit(webhook["url"]).path
    content = "Ticket #123 created"
    assert (await client.post(path, json={"content": content})).status_code == 204
    waited = await client.post(path, params={"wait": "true"}, json={"content": "second"})
    assert waited.status_code == 200
    message = waited.json()
    assert message["content"] == "second" and message["webhook_id"] == webhook["id"]
    assert message["channel_id"] == webhook["channel_id"]
    inspected = await client.get(INSPECT)
    deliveries = inspected.json()["deliveries"]
    assert {"content": content} in deliveries and {"content": "second"} in deliveries
    assert CANARY not in inspected.text


async def test_webhook_errors_and_delete(client: httpx.AsyncClient) -> None:
    webhook = (await install(client, scope="webhook.incoming"))["webhook"]
    path = urlsplit(webhook["url"]).path
    empty = await client.post(path, json={"content": ""})
    assert empty.status_code == 400 and empty.json() == {
        "message": "Cannot send an empty message",
        "code": 50006,
    }
    assert (await client.post(path, data={"content": "form"})).json()["code"] == 50006
    too_long = await client.post(path, json={"content": "x" * 2001})
    assert too_long.status_code == 400 and too_long.json()["code"] == 50035
    wrong_token = await client.post(path + "x", json={"content": "hi"})
    assert wrong_token.status_code == 401 and wrong_token.json()["code"] == 50027
    assert (await client.delete(path)).status_code == 204
    gone = await client.post(path, json={"content": "hi"})
    assert gone.status_code == 404 and gone.json() == {"message": "Unknown Webhook", "code": 10015}
