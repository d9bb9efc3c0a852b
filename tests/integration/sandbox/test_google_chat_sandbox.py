"""The Google Chat sandbox speaks Google's wire format (PROVIDERS.md §4), state in real Redis."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from sandbox import SandboxApp, create_sandbox_router, google_chat
from tests.utils.forms import FormFields

CANARY = "CANARYgchat5e1d"
REDIRECT = "http://console.test/api/public/integrations/google_chat/callback"
APP = SandboxApp("1234567890-sandbox.apps.googleusercontent.com", "GOCSPX-sandbox-secret", REDIRECT)
BASE = "/sandbox/google_chat"
AUTHORIZE = f"{BASE}/accounts/o/oauth2/v2/auth"
TOKEN = f"{BASE}/oauth2/token"
REVOKE = f"{BASE}/oauth2/revoke"
SPACES = f"{BASE}/chat/v1/spaces"
INSPECT = f"{BASE}/_inspect"
G = "https://www.googleapis.com/auth/"
READ, CREATE = G + "chat.spaces.readonly", G + "chat.messages.create"
ADA, GRACE = "110000000000000000101", "110000000000000000202"
VERIFIER = "v" * 43 + "-._~" + "x" * 20
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).decode().rstrip("=")
ADA_SPACES = 106  # 6 named + 100 generated rooms


async def make_client(redis_url: str, app: SandboxApp) -> AsyncIterator[httpx.AsyncClient]:
    api = FastAPI()
    api.include_router(create_sandbox_router(redis_url=redis_url, apps={"google_chat": app}, canary=CANARY))
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as http:
        yield http


@pytest.fixture(scope="module")
async def client(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for http in make_client(redis_url, APP):
        yield http


@pytest.fixture
async def fresh(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a newly registered app: no account has consented to it yet.

    The extra header only tells this module's helpers which client id to send; the sandbox ignores it.
    """
    app = SandboxApp(f"{secrets.token_hex(6)}.apps.googleusercontent.com", APP.client_secret, REDIRECT)
    async for http in make_client(redis_url, app):
        http.headers["x-test-client-id"] = app.client_id
        yield http


def client_id(http: httpx.AsyncClient) -> str:
    return http.headers.get("x-test-client-id", APP.client_id)


def authorize_query(http: httpx.AsyncClient, **overrides: str) -> dict[str, str]:
    query = {
        "client_id": client_id(http),
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": f"{READ} {CREATE}",
        "access_type": "offline",
        "state": "st-" + "g" * 40,
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    return {k: v for k, v in (query | overrides).items() if v != "<omit>"}


async def submit(http: httpx.AsyncClient, decision: str, account: str = ADA, **query: str) -> httpx.Response:
    page = await http.get(AUTHORIZE, params=authorize_query(http, **query))
    assert page.status_code == 200, page.text
    form = FormFields()
    form.feed(page.text)
    return await http.post(AUTHORIZE, data=form.fields | {"account": account, "decision": decision})


def callback_query(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def token_form(http: httpx.AsyncClient, **fields: str) -> dict[str, str]:
    form = {"client_id": client_id(http), "client_secret": APP.client_secret, "redirect_uri": REDIRECT}
    return form | {"grant_type": "authorization_code", "code_verifier": VERIFIER} | fields


async def exchange(http: httpx.AsyncClient, code: str) -> dict[str, Any]:
    response = await http.post(TOKEN, data=token_form(http, code=code))
    assert response.status_code == 200, response.text
    return response.json()


async def install(http: httpx.AsyncClient, account: str = ADA, **query: str) -> dict[str, Any]:
    return await exchange(http, callback_query(await submit(http, "approve", account, **query))["code"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def inspect(http: httpx.AsyncClient) -> dict[str, Any]:
    return (await http.get(INSPECT)).json()


def google_error(response: httpx.Response, code: int, status: str) -> str:
    assert response.status_code == code, response.text
    error = response.json()["error"]
    assert (error["code"], error["status"]) == (code, status)
    return str(error["message"])


async def test_consent_page_renders_and_escapes(client: httpx.AsyncClient) -> None:
    query = authorize_query(client, state='"><img src=x onerror=alert(1)>', login_hint="grace@globex.example")
    response = await client.get(AUTHORIZE, params=query)
    assert response.status_code == 200
    page = response.text
    for element in ('id="approve"', 'id="cancel"', 'id="account" name="account"', READ, CREATE):
        assert element in page
    assert f'<option value="{GRACE}" selected>' in page
    assert "<img" not in page and "&lt;img" in page


@pytest.mark.parametrize(
    ("overrides", "status", "error"),
    [
        ({"redirect_uri": REDIRECT + "/"}, 400, "redirect_uri_mismatch"),
        ({"redirect_uri": "<omit>"}, 400, "redirect_uri_mismatch"),
        ({"client_id": "unknown.apps.googleusercontent.com"}, 401, "invalid_client"),
        ({"scope": f"{READ} {G}chat.admin"}, 400, "invalid_scope"),
        ({"scope": ""}, 400, "invalid_request"),
        ({"response_type": "token"}, 400, "invalid_request"),
        ({"code_challenge": "<omit>", "code_challenge_method": "<omit>"}, 400, "invalid_request"),
        ({"code_challenge_method": "plain"}, 400, "invalid_request"),
        ({"code_challenge": "short"}, 400, "invalid_request"),
        ({"access_type": "forever"}, 400, "invalid_request"),
        ({"prompt": "none consent"}, 400, "invalid_request"),
    ],
)
async def test_request_errors_are_shown_by_google_not_redirected(
    client: httpx.AsyncClient, overrides: dict[str, str], status: int, error: str
) -> None:
    response = await client.get(AUTHORIZE, params=authorize_query(client, **overrides))
    assert response.status_code == status and "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert f"Error {status}: {error}" in response.text


async def test_mismatch_page_escapes_the_uri_and_a_post_cannot_bypass_it(client: httpx.AsyncClient) -> None:
    bad = authorize_query(client, redirect_uri="https://evil.test/<b>")
    page = await client.get(AUTHORIZE, params=bad)
    assert "redirect_uri=https://evil.test/&lt;b&gt;" in page.text
    posted = await client.post(AUTHORIZE, data=bad | {"account": ADA, "decision": "approve"})
    assert posted.status_code == 400 and "location" not in posted.headers
    repeated = await client.get(AUTHORIZE + "?client_id=a&client_id=b")
    assert repeated.status_code == 400 and "Error 400: invalid_request" in repeated.text


async def test_cancel_redirects_with_access_denied_and_state(client: httpx.AsyncClient) -> None:
    response = await submit(client, "cancel", state="a b&c")
    assert response.headers["location"] == REDIRECT + "?state=a+b%26c&error=access_denied"


async def test_first_offline_consent_returns_the_documented_shape(fresh: httpx.AsyncClient) -> None:
    callback = callback_query(await submit(fresh, "approve", state="a b&c"))
    assert list(callback) == ["state", "code", "scope", "authuser", "hd", "prompt"]
    assert callback["state"] == "a b&c" and callback["code"].startswith("4/0A")
    assert callback["scope"] == f"{READ} {CREATE}" and callback["prompt"] == "consent"
    assert callback["hd"] == "acme-support.example"
    response = await fresh.post(TOKEN, data=token_form(fresh, code=callback["code"]))
    assert response.status_code == 200 and "no-store" in response.headers["cache-control"]
    body = response.json()
    assert list(body) == ["access_token", "expires_in", "refresh_token", "scope", "token_type"]
    assert body["expires_in"] == 3599 and body["token_type"] == "Bearer"
    assert body["scope"] == f"{READ} {CREATE}"
    assert body["access_token"].startswith(f"ya29.a0{CANARY}-")
    assert body["refresh_token"].startswith(f"1//0g{CANARY}-")


async def test_openid_adds_an_id_token_with_google_claims(fresh: httpx.AsyncClient) -> None:
    body = await install(fresh, GRACE, scope=f"openid email {READ}", nonce="n-0S6")
    assert body["scope"] == f"openid {G}userinfo.email {READ}"
    header, claims, signature = body["id_token"].split(".")
    decoded = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    assert decoded["iss"] == "https://accounts.google.com" and decoded["aud"] == client_id(fresh)
    assert decoded["sub"] == GRACE and decoded["email"] == "grace@globex.example"
    assert decoded["nonce"] == "n-0S6" and decoded["exp"] > decoded["iat"]
    assert CANARY in signature and json.loads(base64.urlsafe_b64decode(header + "=="))["alg"] == "RS256"


async def test_refresh_token_only_with_offline_access(fresh: httpx.AsyncClient) -> None:
    online = await install(fresh, access_type="<omit>")
    assert "refresh_token" not in online and "id_token" not in online
    # Offline access was never granted, so asking for it shows consent again and yields a refresh token.
    offline = await install(fresh)
    assert CANARY in offline["refresh_token"]


async def test_reconsent_without_prompt_consent_has_no_refresh_token(fresh: httpx.AsyncClient) -> None:
    first = await install(fresh)
    again = callback_query(await submit(fresh, "approve"))
    assert again["prompt"] == "none"
    second = await exchange(fresh, again["code"])
    assert "refresh_token" not in second and CANARY in second["access_token"]
    forced = await install(fresh, prompt="consent")
    assert forced["refresh_token"] != first["refresh_token"]
    for refresh_token in (first["refresh_token"], forced["refresh_token"]):  # both stay valid
        form = token_form(fresh, grant_type="refresh_token", refresh_token=refresh_token)
        assert (await fresh.post(TOKEN, data=form)).status_code == 200
    wider = callback_query(await submit(fresh, "approve", scope=f"{READ} {CREATE} {G}chat.messages.readonly"))
    assert wider["prompt"] == "consent"  # new scopes need consent, which yields a refresh token
    assert "refresh_token" in await exchange(fresh, wider["code"])


async def test_prompt_none_and_include_granted_scopes(fresh: httpx.AsyncClient) -> None:
    hint = {"prompt": "none", "login_hint": "ada@acme-support.example"}
    before = callback_query(await fresh.get(AUTHORIZE, params=authorize_query(fresh, **hint)))
    assert before == {"state": "st-" + "g" * 40, "error": "consent_required"}
    unknown = authorize_query(fresh, prompt="none", login_hint="nobody@example.com")
    assert callback_query(await fresh.get(AUTHORIZE, params=unknown))["error"] == "interaction_required"
    await install(fresh, scope=READ)
    silent = callback_query(await fresh.get(AUTHORIZE, params=authorize_query(fresh, scope=READ, **hint)))
    assert silent["prompt"] == "none" and "refresh_token" not in await exchange(fresh, silent["code"])
    combined = await install(fresh, scope=CREATE, include_granted_scopes="true")
    assert combined["scope"] == f"{CREATE} {READ}"


async def test_code_is_single_use_and_counted(client: httpx.AsyncClient) -> None:
    before = (await inspect(client))["token_exchanges"]
    code = callback_query(await submit(client, "approve"))["code"]
    assert (await client.post(TOKEN, data=token_form(client, code=code))).status_code == 200
    replay = await client.post(TOKEN, data=token_form(client, code=code))
    assert replay.status_code == 400
    assert replay.json() == {"error": "invalid_grant", "error_description": "Bad Request"}
    assert (await inspect(client))["token_exchanges"] == before + 2


async def test_codes_expire(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(google_chat, "QUIRKS", replace(google_chat.QUIRKS, code_ttl=1.0))
    async for http in make_client(redis_url, APP):
        stale = callback_query(await submit(http, "approve"))["code"]
        await asyncio.sleep(1.2)
        fresh = callback_query(await submit(http, "approve"))["code"]
        assert (await http.post(TOKEN, data=token_form(http, code=fresh))).status_code == 200
        expired = await http.post(TOKEN, data=token_form(http, code=stale))
        assert expired.json() == {"error": "invalid_grant", "error_description": "Bad Request"}


async def test_pkce_verifier_is_enforced_and_a_failed_attempt_burns_the_code(
    client: httpx.AsyncClient,
) -> None:
    for fields, description in (
        ({"code_verifier": ""}, "Missing code verifier."),
        ({"code_verifier": "w" * 43}, "Invalid code verifier."),
    ):
        code = callback_query(await submit(client, "approve"))["code"]
        response = await client.post(TOKEN, data=token_form(client, code=code, **fields))
        assert response.status_code == 400
        assert response.json() == {"error": "invalid_grant", "error_description": description}
        retry = await client.post(TOKEN, data=token_form(client, code=code))
        assert retry.json()["error"] == "invalid_grant"


async def test_token_endpoint_errors(client: httpx.AsyncClient) -> None:
    code = callback_query(await submit(client, "approve"))["code"]
    cases = [
        (token_form(client, code=code, client_secret="wrong"), 401, "invalid_client", "Unauthorized"),
        (
            token_form(client, code=code, client_id="x"),
            401,
            "invalid_client",
            "The OAuth client was not found.",
        ),
        (
            token_form(client, grant_type="password"),
            400,
            "unsupported_grant_type",
            "Invalid grant_type: password",
        ),
        (token_form(client, code="4/0Anope"), 400, "invalid_grant", "Bad Request"),
        (
            token_form(client, code=code, redirect_uri=REDIRECT + "/x"),
            400,
            "redirect_uri_mismatch",
            "Bad Request",
        ),
    ]
    for form, status, error, description in cases:
        response = await client.post(TOKEN, data=form)
        assert response.status_code == status, (form, response.text)
        assert response.json() == {"error": error, "error_description": description}
    as_json = await client.post(TOKEN, json=token_form(client, code=code))
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
    pair = f"{APP.client_id}:{APP.client_secret}".encode()
    basic = {"Authorization": "Basic " + base64.b64encode(pair).decode()}
    fresh_code = callback_query(await submit(client, "approve"))["code"]
    form = {"grant_type": "authorization_code", "code": fresh_code, "redirect_uri": REDIRECT}
    assert (
        await client.post(TOKEN, data=form | {"code_verifier": VERIFIER}, headers=basic)
    ).status_code == 200


async def test_refresh_keeps_the_refresh_token(fresh: httpx.AsyncClient) -> None:
    body = await install(fresh)
    form = token_form(fresh, grant_type="refresh_token", refresh_token=body["refresh_token"])
    del form["redirect_uri"], form["code_verifier"]
    for _ in range(2):  # the same refresh token works again: Google does not rotate it
        response = await fresh.post(TOKEN, data=form)
        assert response.status_code == 200
        refreshed = response.json()
        assert list(refreshed) == ["access_token", "expires_in", "scope", "token_type"]
        assert refreshed["access_token"] != body["access_token"] and CANARY in refreshed["access_token"]
        assert (await fresh.get(SPACES, headers=bearer(refreshed["access_token"]))).status_code == 200
    narrowed = (await fresh.post(TOKEN, data=form | {"scope": READ})).json()
    assert narrowed["scope"] == READ
    wider = await fresh.post(TOKEN, data=form | {"scope": G + "chat.messages"})
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    bad = await fresh.post(TOKEN, data=form | {"refresh_token": "1//0gnope"})
    assert bad.json() == {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}


async def test_spaces_list_paginates_over_every_space(client: httpx.AsyncClient) -> None:
    token = (await install(client))["access_token"]
    first = (await client.get(SPACES, headers=bearer(token))).json()
    assert len(first["spaces"]) == 100 and first["nextPageToken"]
    support = first["spaces"][0]
    assert support["name"] == "spaces/AAQAsupport" and support["displayName"] == "Support"
    assert support["spaceType"] == "SPACE" and support["spaceThreadingState"] == "THREADED_MESSAGES"
    seen: list[str] = []
    params: dict[str, str] = {"pageSize": "25"}
    while True:
        page = (await client.get(SPACES, params=params, headers=bearer(token))).json()
        seen += [space["name"] for space in page["spaces"]]
        if "nextPageToken" not in page:
            break
        params["pageToken"] = page["nextPageToken"]
    assert len(seen) == len(set(seen)) == ADA_SPACES
    assert "spaces/AAQAglbxops" not in seen  # another account's space
    almost = (await client.get(SPACES, params={"pageSize": "105"}, headers=bearer(token))).json()
    last = {"pageSize": "105", "pageToken": almost["nextPageToken"]}
    assert len((await client.get(SPACES, params=last, headers=bearer(token))).json()["spaces"]) == 1
    everything = (await client.get(SPACES, params={"pageSize": "5000"}, headers=bearer(token))).json()
    assert len(everything["spaces"]) == ADA_SPACES and "nextPageToken" not in everything


async def test_spaces_filter_and_bad_arguments(client: httpx.AsyncClient) -> None:
    token = (await install(client, GRACE))["access_token"]
    spaces = (await client.get(SPACES, headers=bearer(token))).json()["spaces"]
    assert [s["displayName"] for s in spaces] == ["Partners — Acme & Globex", "Globex Ops", "Globex Alerts"]
    ada = (await install(client))["access_token"]
    only_dm = {"filter": 'spaceType = "DIRECT_MESSAGE" OR spaceType = "GROUP_CHAT"'}
    listed = (await client.get(SPACES, params=only_dm, headers=bearer(ada))).json()["spaces"]
    assert sorted(s["spaceType"] for s in listed) == ["DIRECT_MESSAGE", "GROUP_CHAT"]
    assert "displayName" not in listed[0]
    page_token = (await client.get(SPACES, params={"pageSize": 2}, headers=bearer(ada))).json()[
        "nextPageToken"
    ]
    for params in (
        {"pageSize": "-1"},
        {"pageSize": "ten"},
        {"filter": 'spaceType = "ROOMS"'},
        {"pageToken": "garbage!"},
        {"pageToken": page_token, "filter": 'spaceType = "SPACE"'},  # the token belongs to another filter
        {"page_size": "5"},
    ):
        google_error(await client.get(SPACES, params=params, headers=bearer(ada)), 400, "INVALID_ARGUMENT")
    stolen = await client.get(SPACES, params={"pageToken": page_token}, headers=bearer(token))
    google_error(stolen, 400, "INVALID_ARGUMENT")  # and to another user


async def test_api_auth_errors_use_the_google_envelope(client: httpx.AsyncClient) -> None:
    missing = await client.get(SPACES)
    assert google_error(missing, 401, "UNAUTHENTICATED").startswith(
        "Request is missing required authentication"
    )
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.json()["error"]["details"][0]["reason"] == "CREDENTIALS_MISSING"
    invalid = await client.get(SPACES, headers=bearer("ya29.nope"))
    assert google_error(invalid, 401, "UNAUTHENTICATED").startswith("Request had invalid authentication")
    post_only = (await install(client, scope=CREATE))["access_token"]
    denied = await client.get(SPACES, headers=bearer(post_only))
    assert google_error(denied, 403, "PERMISSION_DENIED") == "Request had insufficient authentication scopes."
    read_only = (await install(client, scope=READ))["access_token"]
    post = await client.post(f"{SPACES}/AAQAsupport/messages", json={"text": "hi"}, headers=bearer(read_only))
    google_error(post, 403, "PERMISSION_DENIED")


async def test_get_space(client: httpx.AsyncClient) -> None:
    token = (await install(client))["access_token"]
    space = (await client.get(f"{SPACES}/AAQAtickets", headers=bearer(token))).json()
    assert space["name"] == "spaces/AAQAtickets" and space["spaceDetails"]["description"]
    google_error(await client.get(f"{SPACES}/AAQAglbxops", headers=bearer(token)), 404, "NOT_FOUND")


async def test_create_message_is_recorded(client: httpx.AsyncClient) -> None:
    token = (await install(client))["access_token"]
    url = f"{SPACES}/AAQAsupport/messages"
    response = await client.post(url, json={"text": "Ticket #123 created"}, headers=bearer(token))
    assert response.status_code == 200, response.text
    message = response.json()
    assert message["name"].startswith("spaces/AAQAsupport/messages/")
    assert message["sender"] == {"name": f"users/{ADA}", "type": "HUMAN"}
    assert message["text"] == "Ticket #123 created" and message["space"] == {"name": "spaces/AAQAsupport"}
    assert message["thread"]["name"].startswith("spaces/AAQAsupport/threads/")
    expected = {"text": "Ticket #123 created", "parent": "spaces/AAQAsupport", "via": "api"}
    inspected = await client.get(INSPECT)
    assert expected in inspected.json()["deliveries"] and CANARY not in inspected.text


async def test_create_message_threads_and_idempotency(client: httpx.AsyncClient) -> None:
    token = (await install(client))["access_token"]
    url = f"{SPACES}/AAQAtickets/messages"
    thread = {"text": "update", "thread": {"threadKey": f"ticket-{secrets.token_hex(4)}"}}
    reply = {"messageReplyOption": "REPLY_MESSAGE_OR_FAIL"}
    google_error(await client.post(url, params=reply, json=thread, headers=bearer(token)), 404, "NOT_FOUND")
    fallback = {"messageReplyOption": "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"}
    started = (await client.post(url, params=fallback, json=thread, headers=bearer(token))).json()
    replied = (await client.post(url, params=reply, json=thread, headers=bearer(token))).json()
    assert started["thread"] == replied["thread"] and started["name"] != replied["name"]
    deliveries = len((await inspect(client))["deliveries"])
    request_id = {"requestId": secrets.token_hex(8)}
    once = await client.post(url, params=request_id, json={"text": "once"}, headers=bearer(token))
    twice = await client.post(url, params=request_id, json={"text": "once"}, headers=bearer(token))
    assert once.json() == twice.json() and len((await inspect(client))["deliveries"]) == deliveries + 1
    message_id = {"messageId": f"client-{secrets.token_hex(4)}"}
    created = await client.post(url, params=message_id, json={"text": "x"}, headers=bearer(token))
    assert created.json()["clientAssignedMessageId"] == message_id["messageId"]
    dup = await client.post(url, params=message_id, json={"text": "x"}, headers=bearer(token))
    google_error(dup, 409, "ALREADY_EXISTS")


async def test_create_message_rejections(client: httpx.AsyncClient) -> None:
    token = (await install(client))["access_token"]
    url = f"{SPACES}/AAQAsupport/messages"
    for body in ({"text": ""}, {"text": "x", "txt": "typo"}, {"cardsV2": [{"cardId": "c"}]}, {"text": 5}):
        google_error(await client.post(url, json=body, headers=bearer(token)), 400, "INVALID_ARGUMENT")
    too_long = {"text": "é" * 16001}
    google_error(await client.post(url, json=too_long, headers=bearer(token)), 400, "INVALID_ARGUMENT")
    raw = await client.post(
        url, content=b"{nope", headers=bearer(token) | {"content-type": "application/json"}
    )
    google_error(raw, 400, "INVALID_ARGUMENT")
    for params in ({"messageId": "no-prefix"}, {"messageReplyOption": "SOMETIMES"}, {"foo": "1"}):
        bad = await client.post(url, params=params, json={"text": "x"}, headers=bearer(token))
        google_error(bad, 400, "INVALID_ARGUMENT")
    for space in ("AAQAglbxops", "AAQAnothere"):  # not a member / no such space
        other = await client.post(f"{SPACES}/{space}/messages", json={"text": "x"}, headers=bearer(token))
        google_error(other, 404, "NOT_FOUND")


async def test_incoming_webhook(client: httpx.AsyncClient) -> None:
    minted = await client.post(f"{BASE}/_webhooks", json={"space": "spaces/AAQAincidnt", "name": "TMS"})
    assert minted.status_code == 201
    url = urlsplit(minted.json()["url"])
    assert url.path == f"{SPACES}/AAQAincidnt/messages" and CANARY in url.query
    target = f"{url.path}?{url.query}"
    response = await client.post(target, json={"text": "Ticket #9 escalated"})
    assert response.status_code == 200
    body = response.json()
    assert body["text"] == "Ticket #9 escalated" and body["name"].startswith("spaces/AAQAincidnt/messages/")
    assert set(body) == {"text", "name", "thread"}
    expected = {"text": "Ticket #9 escalated", "parent": "spaces/AAQAincidnt", "via": "webhook"}
    assert expected in (await inspect(client))["deliveries"]
    query = parse_qs(url.query)
    wrong_key = {"key": "AIzaWrong", "token": query["token"][0]}
    bad_key = await client.post(url.path, params=wrong_key, json={"text": "x"})
    assert google_error(bad_key, 400, "INVALID_ARGUMENT") == "API key not valid. Please pass a valid API key."
    wrong_token = {"key": query["key"][0], "token": "nope"}
    google_error(await client.post(url.path, params=wrong_token, json={"text": "x"}), 401, "UNAUTHENTICATED")
    other_space = await client.post(f"{SPACES}/AAQAsupport/messages?{url.query}", json={"text": "x"})
    google_error(other_space, 401, "UNAUTHENTICATED")
    assert (await client.post(f"{BASE}/_webhooks", json={"space": "spaces/nope"})).status_code == 404


async def test_revoke_kills_the_grant_and_forgets_consent(fresh: httpx.AsyncClient) -> None:
    before = (await inspect(fresh))["revocations"]
    body = await install(fresh)
    refresh = token_form(fresh, grant_type="refresh_token", refresh_token=body["refresh_token"])
    second = (await fresh.post(TOKEN, data=refresh)).json()["access_token"]
    response = await fresh.post(REVOKE, data={"token": body["access_token"]})
    assert response.status_code == 200
    for token in (body["access_token"], second):
        google_error(await fresh.get(SPACES, headers=bearer(token)), 401, "UNAUTHENTICATED")
    dead = await fresh.post(TOKEN, data=refresh)
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"
    again = await fresh.post(REVOKE, data={"token": body["refresh_token"]})
    assert again.status_code == 400
    assert again.json() == {"error": "invalid_token", "error_description": "Token expired or revoked"}
    assert (await fresh.post(REVOKE)).json()["error"] == "invalid_request"
    assert (await inspect(fresh))["revocations"] == before + 2
    # Consent is gone: the next authorization asks again and issues a new refresh token.
    renewed = callback_query(await submit(fresh, "approve"))
    assert renewed["prompt"] == "consent" and "refresh_token" in await exchange(fresh, renewed["code"])
    by_query = await fresh.post(REVOKE, params={"token": (await install(fresh))["access_token"]})
    assert by_query.status_code == 200


async def test_rate_limit_fault_answers_like_google(client: httpx.AsyncClient) -> None:
    token = (await install(client))["access_token"]
    put = await client.put(f"{BASE}/_fault", json={"mode": "rate_limited", "target": "both"})
    assert put.status_code == 200
    try:
        limited = await client.get(SPACES, headers=bearer(token))
        google_error(limited, 429, "RESOURCE_EXHAUSTED")
        assert limited.headers["retry-after"] == "30"
        code = callback_query(await submit(client, "approve"))["code"]
        at_token = await client.post(TOKEN, data=token_form(client, code=code))
        google_error(at_token, 429, "RESOURCE_EXHAUSTED")
    finally:
        assert (await client.delete(f"{BASE}/_fault")).status_code == 204
    assert (await client.get(SPACES, headers=bearer(token))).status_code == 200
