"""The Slack sandbox speaks Slack's wire format (PROVIDERS.md §2), state in real Redis."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from sandbox import SandboxApp, create_sandbox_router, slack
from tests.utils.forms import FormFields

CANARY = "CANARYslack91c2"
REDIRECT = "http://console.test/api/public/integrations/slack/callback"
APP = SandboxApp("sandbox-slack-client", "slack-sandbox-secret", REDIRECT)
ROTATING = SandboxApp("sandbox-slack-rotating", "rotating-secret", REDIRECT, token_rotation=True)
AUTHORIZE = "/sandbox/slack/oauth/v2/authorize"
ACCESS = "/sandbox/slack/api/oauth.v2.access"
API = "/sandbox/slack/api"
INSPECT = "/sandbox/slack/_inspect"
SCOPES = "chat:write,channels:read,groups:read,incoming-webhook"


def basic(app: SandboxApp = APP, secret: str | None = None) -> dict[str, str]:
    pair = f"{app.client_id}:{secret or app.client_secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


async def make_client(redis_url: str, app: SandboxApp) -> AsyncIterator[httpx.AsyncClient]:
    api = FastAPI()
    api.include_router(create_sandbox_router(redis_url=redis_url, apps={"slack": app}, canary=CANARY))
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as http:
        yield http


@pytest.fixture(scope="module")
async def client(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for http in make_client(redis_url, APP):
        yield http


def authorize_query(app: SandboxApp = APP, **overrides: str) -> dict[str, str]:
    query = {"client_id": app.client_id, "scope": SCOPES, "user_scope": "", "redirect_uri": REDIRECT}
    return query | {"state": "st-" + "y" * 40} | overrides


async def submit(
    http: httpx.AsyncClient, decision: str, app: SandboxApp = APP, **query: str
) -> httpx.Response:
    page = await http.get(AUTHORIZE, params=authorize_query(app, **query))
    assert page.status_code == 200, page.text
    form = FormFields()
    form.feed(page.text)
    return await http.post(AUTHORIZE, data=form.fields | {"decision": decision})


def callback_query(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


async def new_code(http: httpx.AsyncClient, app: SandboxApp = APP, **query: str) -> str:
    return callback_query(await submit(http, "approve", app, **query))["code"]


async def install(http: httpx.AsyncClient, app: SandboxApp = APP, **query: str) -> dict[str, Any]:
    code = await new_code(http, app, **query)
    response = await http.post(ACCESS, data={"code": code, "redirect_uri": REDIRECT}, headers=basic(app))
    assert response.status_code == 200 and response.json()["ok"] is True, response.text
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_consent_page_renders_and_escapes(client: httpx.AsyncClient) -> None:
    response = await client.get(AUTHORIZE, params=authorize_query(state='"><img src=x onerror=alert(1)>'))
    assert response.status_code == 200
    page = response.text
    assert "Slack (sandbox)" in page and "Acme Support (sandbox)" in page
    for element in ('id="approve"', 'id="cancel"', 'id="channel" name="channel_id"', "#support-alerts"):
        assert element in page
    assert "<img" not in page and "&lt;img" in page
    without = await client.get(AUTHORIZE, params=authorize_query(scope="chat:write"))
    assert without.status_code == 200 and 'id="channel"' not in without.text


async def test_wrong_redirect_uri_or_client_is_an_error_page(client: httpx.AsyncClient) -> None:
    for overrides in ({"redirect_uri": REDIRECT + "/x"}, {"redirect_uri": ""}, {"client_id": "other"}):
        response = await client.get(AUTHORIZE, params=authorize_query(APP, **overrides))
        assert response.status_code == 400 and "location" not in response.headers
        assert response.headers["content-type"].startswith("text/html")
    posted = await client.post(
        AUTHORIZE, data=authorize_query(redirect_uri="https://evil.test", decision="approve")
    )
    assert posted.status_code == 400 and "location" not in posted.headers


async def test_unknown_scope_redirects_with_error(client: httpx.AsyncClient) -> None:
    query = callback_query(await client.get(AUTHORIZE, params=authorize_query(scope="chat:write,admin")))
    assert query == {"error": "invalid_scope", "state": "st-" + "y" * 40}


async def test_cancel_redirects_with_access_denied(client: httpx.AsyncClient) -> None:
    response = await submit(client, "cancel", state="a b&c")
    assert response.headers["location"] == REDIRECT + "?error=access_denied&state=a+b%26c"


async def test_exchange_returns_the_documented_shape(client: httpx.AsyncClient) -> None:
    callback = callback_query(await submit(client, "approve", state="a b&c"))
    assert callback["state"] == "a b&c"
    form = {"code": callback["code"], "redirect_uri": REDIRECT}
    response = await client.post(ACCESS, data=form, headers=basic())
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {
        "ok", "app_id", "authed_user", "scope", "token_type", "access_token", "bot_user_id",
        "team", "enterprise", "is_enterprise_install", "incoming_webhook",
    }  # fmt: skip
    assert body["ok"] is True and body["token_type"] == "bot" and body["scope"] == SCOPES
    assert body["access_token"].startswith(f"xoxb-{CANARY}-")
    assert body["team"] == {"id": "T0SANDBOX1", "name": "Acme Support (sandbox)"}
    assert body["enterprise"] is None and body["is_enterprise_install"] is False
    assert body["authed_user"] == {"id": "U0SBXUSR01"}
    hook = body["incoming_webhook"]
    assert hook["channel"] == "#support-alerts" and hook["channel_id"] == "C0SBX0001"
    assert hook["url"].startswith("http://sandbox.test/sandbox/slack/hooks/services/T0SANDBOX1/B")
    assert CANARY in hook["url"]
    assert hook["configuration_url"].startswith("https://sandbox-workspace.slack.com/services/B")


async def test_no_incoming_webhook_without_the_scope_and_body_auth(client: httpx.AsyncClient) -> None:
    code = await new_code(client, scope="chat:write,channels:read", user_scope="chat:write")
    form = {
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": APP.client_id,
        "client_secret": APP.client_secret,
    }
    body = (await client.post(ACCESS, data=form)).json()
    assert body["ok"] is True and "incoming_webhook" not in body
    assert body["authed_user"]["token_type"] == "user" and CANARY in body["authed_user"]["access_token"]


async def test_code_is_single_use_and_counted(client: httpx.AsyncClient) -> None:
    before = (await client.get(INSPECT)).json()["token_exchanges"]
    code = await new_code(client)
    form = {"code": code, "redirect_uri": REDIRECT}
    assert (await client.post(ACCESS, data=form, headers=basic())).json()["ok"] is True
    replay = await client.post(ACCESS, data=form, headers=basic())
    assert replay.status_code == 200 and replay.json() == {"ok": False, "error": "invalid_code"}
    assert (await client.get(INSPECT)).json()["token_exchanges"] == before + 2


async def test_codes_expire(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slack, "QUIRKS", replace(slack.QUIRKS, code_ttl=1.0))  # Slack's is 600 s
    async for http in make_client(redis_url, APP):
        stale = await new_code(http)
        await asyncio.sleep(1.2)
        fresh = await new_code(http)
        form = {"redirect_uri": REDIRECT}
        assert (await http.post(ACCESS, data=form | {"code": fresh}, headers=basic())).json()["ok"] is True
        expired = await http.post(ACCESS, data=form | {"code": stale}, headers=basic())
        assert expired.json() == {"ok": False, "error": "invalid_code"}


async def test_exchange_errors_are_200_with_ok_false(client: httpx.AsyncClient) -> None:
    code = await new_code(client)
    cases = [
        ({"code": code, "redirect_uri": REDIRECT}, basic(secret="wrong"), "bad_client_secret"),
        (
            {"code": code, "redirect_uri": REDIRECT, "client_id": "nope", "client_secret": "x"},
            {},
            "invalid_client_id",
        ),
        ({"code": code, "redirect_uri": REDIRECT}, {}, "invalid_client_id"),
        ({"redirect_uri": REDIRECT}, basic(), "invalid_code"),
        ({"code": code, "redirect_uri": REDIRECT, "grant_type": "password"}, basic(), "invalid_grant_type"),
        ({"code": code, "redirect_uri": REDIRECT + "/other"}, basic(), "bad_redirect_uri"),
    ]
    for form, headers, error in cases:
        response = await client.post(ACCESS, data=form, headers=headers)
        assert response.status_code == 200 and response.json() == {"ok": False, "error": error}


async def test_auth_test_and_revoke(client: httpx.AsyncClient) -> None:
    before = (await client.get(INSPECT)).json()["revocations"]
    token = (await install(client))["access_token"]
    response = await client.post(f"{API}/auth.test", headers=bearer(token))
    assert response.json() == {
        "ok": True, "url": "https://sandbox-workspace.slack.com/", "team": "Acme Support (sandbox)",
        "user": "tmsbot", "team_id": "T0SANDBOX1", "user_id": "U0SBXBOT01", "bot_id": "B0SBXBOT01",
        "is_enterprise_install": False,
    }  # fmt: skip
    assert (await client.post(f"{API}/auth.test", data={"token": token})).json()["ok"] is True
    assert (await client.post(f"{API}/auth.test")).json() == {"ok": False, "error": "not_authed"}
    assert (await client.post(f"{API}/auth.test", headers=bearer("xoxb-nope"))).json()[
        "error"
    ] == "invalid_auth"
    revoked = await client.post(f"{API}/auth.revoke", headers=bearer(token))
    assert revoked.json() == {"ok": True, "revoked": True}
    after = await client.post(f"{API}/auth.test", headers=bearer(token))
    assert after.status_code == 200 and after.json()["ok"] is False
    assert (await client.get(INSPECT)).json()["revocations"] == before + 1


async def test_conversations_list_paginates(client: httpx.AsyncClient) -> None:
    token = (await install(client))["access_token"]
    first = (await client.get(f"{API}/conversations.list", params={"limit": 2}, headers=bearer(token))).json()
    assert first["ok"] is True and [c["name"] for c in first["channels"]] == ["support-alerts", "tickets"]
    cursor = first["response_metadata"]["next_cursor"]
    assert cursor
    form = {"limit": "2", "cursor": cursor}
    second = (await client.post(f"{API}/conversations.list", data=form, headers=bearer(token))).json()
    assert [c["id"] for c in second["channels"]] == ["C0SBX0003"]
    assert second["response_metadata"]["next_cursor"] == ""
    for cursor in ("zz", "é", base64.b64encode(b"team:C0NOPE").decode()):
        params = {"cursor": cursor}
        bad = await client.get(f"{API}/conversations.list", params=params, headers=bearer(token))
        assert bad.json() == {"ok": False, "error": "invalid_cursor"}
    assert (await client.get(f"{API}/conversations.list")).json()["error"] == "not_authed"


async def test_chat_post_message(client: httpx.AsyncClient) -> None:
    token = (await install(client))["access_token"]
    post = f"{API}/chat.postMessage"
    ok = await client.post(post, json={"channel": "C0SBX0001", "text": "hello"}, headers=bearer(token))
    assert ok.json()["ok"] is True and ok.json()["channel"] == "C0SBX0001"
    for body, error in (
        ({"channel": "C0NOPE", "text": "x"}, "channel_not_found"),
        ({"channel": "C0SBX0001"}, "no_text"),
        ({"channel": "C0SBX0002", "text": "x"}, "not_in_channel"),
    ):
        assert (await client.post(post, json=body, headers=bearer(token))).json()["error"] == error
    unauthorized = await client.post(post, data={"channel": "C0SBX0001", "text": "x", "token": "xoxb-nope"})
    assert unauthorized.json() == {"ok": False, "error": "invalid_auth"}


async def test_incoming_webhook_delivery_is_recorded(client: httpx.AsyncClient) -> None:
    url = (await install(client))["incoming_webhook"]["url"]
    path = urlsplit(url).path
    response = await client.post(path, json={"text": "Ticket #7 updated"})
    assert response.status_code == 200 and response.text == "ok"
    assert response.headers["content-type"].startswith("text/plain")
    inspected = await client.get(INSPECT)
    assert {"text": "Ticket #7 updated"} in inspected.json()["deliveries"]
    assert CANARY not in inspected.text
    no_text = await client.post(path, json={"username": "x"})
    assert (no_text.status_code, no_text.text) == (400, "no_text")
    bad = await client.post(path, content=b"{not json", headers={"content-type": "application/json"})
    assert (bad.status_code, bad.text) == (400, "invalid_payload")
    unknown = await client.post(path + "x", json={"text": "hi"})
    assert (unknown.status_code, unknown.text) == (404, "no_service")


async def test_token_rotation_refresh(redis_url: str) -> None:
    async for http in make_client(redis_url, ROTATING):
        body = await install(http, ROTATING)
        assert body["expires_in"] == 43200 and body["refresh_token"].startswith(f"xoxe-1-{CANARY}-")
        form = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
        refreshed = (await http.post(ACCESS, data=form, headers=basic(ROTATING))).json()
        assert refreshed["ok"] is True and refreshed["token_type"] == "bot"
        assert refreshed["refresh_token"] != body["refresh_token"] and CANARY in refreshed["access_token"]
        assert (await http.post(f"{API}/auth.test", headers=bearer(refreshed["access_token"]))).json()["ok"]
        replay = (await http.post(ACCESS, data=form, headers=basic(ROTATING))).json()
        assert replay == {"ok": False, "error": "invalid_refresh_token"}
