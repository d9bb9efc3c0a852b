"""The Microsoft Teams sandbox speaks Entra ID v2 and Graph (PROVIDERS.md §3), state in real Redis."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI

from sandbox import SandboxApp, create_sandbox_router, msteams
from sandbox import msteams_fixtures as world
from tests.utils.forms import click

CANARY = "CANARYmsteams5c1d"
REDIRECT = "http://console.test/api/public/integrations/msteams/callback"
APP = SandboxApp(
    "3f2a9c1e-7b4d-4e8a-9c6f-1a2b3c4d5e6f", "msteams-sandbox-secret", REDIRECT, name="TMS <Console>"
)
LOGIN = "/sandbox/msteams/login"
AUTHORIZE = f"{LOGIN}/organizations/oauth2/v2.0/authorize"
TOKEN = f"{LOGIN}/organizations/oauth2/v2.0/token"
ADMIN_CONSENT = f"{LOGIN}/organizations/v2.0/adminconsent"
GRAPH = "/sandbox/msteams/graph/v1.0"
INSPECT = "/sandbox/msteams/_inspect"
SCOPES = (
    "openid profile offline_access User.Read Team.ReadBasic.All Channel.ReadBasic.All ChannelMessage.Send"
)
SECRET = {"client_id": APP.client_id, "client_secret": APP.client_secret}
ERROR_KEYS = {"error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id"}
SUPPORT = world.CONTOSO.teams[0]


async def make_client(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(create_sandbox_router(redis_url=redis_url, apps={"msteams": APP}, canary=CANARY))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as http:
        yield http


@pytest.fixture(scope="module")
async def client(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for http in make_client(redis_url):
        yield http


def pkce(verifier: str | None = None) -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48) if verifier is None else verifier
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_query(challenge: str, **overrides: str) -> dict[str, str]:
    query = {
        "client_id": APP.client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": SCOPES,
        "response_mode": "query",
        "state": "st-" + "x" * 40,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "nonce": "n-0S6_WzA2Mj",
    }
    return query | overrides


async def submit(
    http: httpx.AsyncClient, button: str, page_path: str, query: dict[str, str], **choice: str
) -> httpx.Response:
    page = await http.get(page_path, params=query)
    assert page.status_code == 200, page.text
    method, action, data = click(page.text, str(page.url), button, **choice)
    assert method == "post"
    return await http.post(action, data=data)


def callback_query(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


async def authorize(
    http: httpx.AsyncClient, tenant: world.Tenant = world.CONTOSO, **overrides: str
) -> tuple[dict[str, str], str]:
    """Approve on the consent page as `tenant`'s user; (callback query, code_verifier)."""
    verifier, challenge = pkce()
    query = authorize_query(challenge, **overrides)
    response = await submit(http, "approve", AUTHORIZE, query, tenant_id=tenant.id)
    return callback_query(response), verifier


def code_form(code: str, verifier: str, **overrides: str) -> dict[str, str]:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    return form | {"code_verifier": verifier} | SECRET | overrides


async def install(http: httpx.AsyncClient, tenant: world.Tenant = world.CONTOSO, **overrides: str) -> Any:
    callback, verifier = await authorize(http, tenant, **overrides)
    response = await http.post(TOKEN, data=code_form(callback["code"], verifier))
    assert response.status_code == 200, response.text
    return response.json()


async def grant_admin_consent(http: httpx.AsyncClient, tenant: world.Tenant) -> dict[str, str]:
    query = {"client_id": APP.client_id, "scope": "https://graph.microsoft.com/.default"}
    query |= {"redirect_uri": REDIRECT, "state": "admin-state"}
    return callback_query(await submit(http, "approve", ADMIN_CONSENT, query, tenant_id=tenant.id))


def claims(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_aad_error(response: httpx.Response, status: int, error: str, code: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ERROR_KEYS and body["error"] == error and body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert f"Trace ID: {body['trace_id']}" in body["error_description"]
    assert f"Correlation ID: {body['correlation_id']}" in body["error_description"]


async def counters(http: httpx.AsyncClient) -> dict[str, Any]:
    return (await http.get(INSPECT)).json()


async def test_consent_page_renders_and_escapes(client: httpx.AsyncClient) -> None:
    _, challenge = pkce()
    hostile = '<script>alert("x")</script>'
    response = await client.get(AUTHORIZE, params=authorize_query(challenge, state=hostile))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "TMS &lt;Console&gt;" in page and "<script>" not in page and "&lt;script&gt;" in page
    for element in ('id="approve"', 'id="cancel"', 'id="tenant" name="tenant_id"'):
        assert element in page
    assert f'<option value="{world.CONTOSO.id}" selected>' in page and world.FABRIKAM.id in page
    assert "https://graph.microsoft.com/ChannelMessage.Send" in page
    hinted = await client.get(
        AUTHORIZE, params=authorize_query(challenge, login_hint=world.FABRIKAM.user.upn)
    )
    assert f'<option value="{world.FABRIKAM.id}" selected>' in hinted.text
    single = await client.get(
        f"{LOGIN}/{world.FABRIKAM.domain}/oauth2/v2.0/authorize", params=authorize_query(challenge)
    )
    assert world.FABRIKAM.id in single.text and world.CONTOSO.id not in single.text


async def test_untrusted_requests_get_error_pages_never_redirects(client: httpx.AsyncClient) -> None:
    _, challenge = pkce()
    cases = (
        (AUTHORIZE, authorize_query(challenge, redirect_uri=REDIRECT + "/"), "AADSTS50011"),
        (AUTHORIZE, authorize_query(challenge, redirect_uri="https://evil.test/cb"), "AADSTS50011"),
        (AUTHORIZE, authorize_query(challenge, client_id="nope"), "AADSTS700016"),
        (f"{LOGIN}/nowhere.test/oauth2/v2.0/authorize", authorize_query(challenge), "AADSTS90002"),
        (f"{LOGIN}/consumers/oauth2/v2.0/authorize", authorize_query(challenge), "AADSTS90002"),
    )
    for path, query, code in cases:
        response = await client.get(path, params=query)
        assert response.status_code == 400 and "location" not in response.headers
        assert code in response.text
    duplicated = await client.get(f"{AUTHORIZE}?{urlencode(authorize_query(challenge))}&state=2")
    assert duplicated.status_code == 400 and "location" not in duplicated.headers
    posted = await client.post(
        AUTHORIZE, data=authorize_query(challenge, redirect_uri="https://evil.test/cb", decision="approve")
    )
    assert posted.status_code == 400 and "location" not in posted.headers


async def test_bad_parameters_redirect_with_aadsts_errors(client: httpx.AsyncClient) -> None:
    _, challenge = pkce()
    cases = (
        ({"scope": "openid User.Read Nonsense.All"}, "invalid_scope", "AADSTS70011"),
        ({"scope": "openid offline_access"}, "invalid_scope", "AADSTS70011"),
        ({"scope": ""}, "invalid_request", "AADSTS900144"),
        ({"code_challenge": ""}, "invalid_request", "AADSTS900144"),
        ({"code_challenge_method": "plain"}, "invalid_request", "AADSTS9002313"),
        ({"code_challenge": "short"}, "invalid_request", "AADSTS9002313"),
        ({"response_type": "token"}, "unsupported_response_type", "AADSTS700054"),
        ({"response_mode": "form_post"}, "invalid_request", "AADSTS9002313"),
        ({"prompt": "none"}, "login_required", "AADSTS50058"),
    )
    for overrides, error, code in cases:
        query = callback_query(await client.get(AUTHORIZE, params=authorize_query(challenge, **overrides)))
        assert query["error"] == error and query["state"] == "st-" + "x" * 40, overrides
        assert query["error_description"].startswith(code + ": ")
        assert "Trace ID: " in query["error_description"]


async def test_cancel_redirects_with_access_denied_and_state(client: httpx.AsyncClient) -> None:
    _, challenge = pkce()
    response = await submit(client, "cancel", AUTHORIZE, authorize_query(challenge, state="a b&c=d/é"))
    assert response.headers["location"] == (
        REDIRECT + "?error=access_denied&error_description=the+user+canceled+the+authentication"
        "&state=a+b%26c%3Dd%2F%C3%A9"
    )


async def test_code_exchange_returns_entra_token_response(client: httpx.AsyncClient) -> None:
    before = await counters(client)
    callback, verifier = await authorize(client, state="a b&c=d/é")
    assert set(callback) == {"code", "state"} and callback["state"] == "a b&c=d/é"
    response = await client.post(TOKEN, data=code_form(callback["code"], verifier))
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    body = response.json()
    assert list(body) == [
        "token_type",
        "scope",
        "expires_in",
        "ext_expires_in",
        "access_token",
        "refresh_token",
        "id_token",
    ]
    assert body["token_type"] == "Bearer" and body["expires_in"] == body["ext_expires_in"] == 3599
    assert body["scope"] == (
        "https://graph.microsoft.com/User.Read https://graph.microsoft.com/Team.ReadBasic.All "
        "https://graph.microsoft.com/Channel.ReadBasic.All https://graph.microsoft.com/ChannelMessage.Send"
    )
    for secret in (body["access_token"], body["refresh_token"], body["id_token"]):
        assert CANARY in secret
    user, tenant = world.CONTOSO.user, world.CONTOSO.id
    id_claims = claims(body["id_token"])
    assert id_claims["aud"] == APP.client_id and id_claims["tid"] == tenant
    assert (id_claims["oid"], id_claims["name"], id_claims["preferred_username"]) == (
        user.oid,
        user.display_name,
        user.upn,
    )
    assert id_claims["iss"] == f"https://login.microsoftonline.com/{tenant}/v2.0"
    assert id_claims["nonce"] == "n-0S6_WzA2Mj" and id_claims["ver"] == "2.0"
    access = claims(body["access_token"])
    assert access["tid"] == tenant and access["oid"] == user.oid and access["appid"] == APP.client_id
    assert access["scp"] == "User.Read Team.ReadBasic.All Channel.ReadBasic.All ChannelMessage.Send"
    assert (await counters(client))["token_exchanges"] == before["token_exchanges"] + 1


async def test_scopes_decide_tokens_and_claims(client: httpx.AsyncClient) -> None:
    lean = await install(client, scope="openid User.Read")
    assert "refresh_token" not in lean and "id_token" in lean
    assert not {"name", "oid", "preferred_username"} & set(claims(lean["id_token"]))
    assert claims(lean["id_token"])["tid"] == world.CONTOSO.id
    graph_only = await install(client, scope="https://graph.microsoft.com/user.read offline_access")
    assert set(graph_only) == {
        "token_type",
        "scope",
        "expires_in",
        "ext_expires_in",
        "access_token",
        "refresh_token",
    }
    assert graph_only["scope"] == "https://graph.microsoft.com/User.Read"
    default = await install(client, scope="https://graph.microsoft.com/.default")
    assert claims(default["access_token"])["scp"] == (
        "User.Read Team.ReadBasic.All Channel.ReadBasic.All ChannelMessage.Send"
    )


async def test_pkce_is_enforced(client: httpx.AsyncClient) -> None:
    callback, verifier = await authorize(client)
    missing = code_form(callback["code"], verifier)
    del missing["code_verifier"]
    assert_aad_error(await client.post(TOKEN, data=missing), 400, "invalid_grant", 50148)
    callback, verifier = await authorize(client)
    wrong = code_form(callback["code"], pkce()[0])
    assert_aad_error(await client.post(TOKEN, data=wrong), 400, "invalid_grant", 50148)
    # The failed attempt spent the code: the right verifier is too late now.
    late = await client.post(TOKEN, data=code_form(callback["code"], verifier))
    assert_aad_error(late, 400, "invalid_grant", 54005)


async def test_verifier_length_and_charset_are_checked(client: httpx.AsyncClient) -> None:
    # Each verifier matches its own challenge, so only RFC 7636 §4.1's format rule can refuse it.
    for bad in ("a" * 42, "a" * 129, "a" * 42 + "!", "a" * 42 + " ", "a" * 42 + "é"):
        verifier, challenge = pkce(bad)
        response = await submit(
            client, "approve", AUTHORIZE, authorize_query(challenge), tenant_id=world.CONTOSO.id
        )
        code = callback_query(response)["code"]
        refused = await client.post(TOKEN, data=code_form(code, verifier))
        assert_aad_error(refused, 400, "invalid_grant", 50148)
    for good in ("a" * 43, "A-._~" * 25 + "z0Z"):  # both ends of the allowed length and charset
        verifier, challenge = pkce(good)
        response = await submit(
            client, "approve", AUTHORIZE, authorize_query(challenge), tenant_id=world.CONTOSO.id
        )
        code = callback_query(response)["code"]
        assert (await client.post(TOKEN, data=code_form(code, verifier))).status_code == 200


async def test_codes_expire(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(msteams, "QUIRKS", replace(msteams.QUIRKS, code_ttl=1.0))  # Entra's is ~10 min
    async for http in make_client(redis_url):
        stale, stale_verifier = await authorize(http)
        await asyncio.sleep(1.2)
        fresh, fresh_verifier = await authorize(http)
        assert (await http.post(TOKEN, data=code_form(fresh["code"], fresh_verifier))).status_code == 200
        expired = await http.post(TOKEN, data=code_form(stale["code"], stale_verifier))
        assert_aad_error(expired, 400, "invalid_grant", 70000)


async def test_code_is_single_use_and_must_exist(client: httpx.AsyncClient) -> None:
    callback, verifier = await authorize(client)
    form = code_form(callback["code"], verifier)
    assert (await client.post(TOKEN, data=form)).status_code == 200
    assert_aad_error(await client.post(TOKEN, data=form), 400, "invalid_grant", 54005)
    unknown = code_form("not-a-code", verifier)
    assert_aad_error(await client.post(TOKEN, data=unknown), 400, "invalid_grant", 70000)


async def test_redirect_uri_must_match(client: httpx.AsyncClient) -> None:
    callback, verifier = await authorize(client)
    response = await client.post(
        TOKEN, data=code_form(callback["code"], verifier, redirect_uri=REDIRECT + "x")
    )
    assert_aad_error(response, 400, "invalid_client", 50011)


async def test_client_authentication(client: httpx.AsyncClient) -> None:
    callback, verifier = await authorize(client)
    form = code_form(callback["code"], verifier)
    wrong = await client.post(TOKEN, data=form | {"client_secret": "nope"})
    assert_aad_error(wrong, 401, "invalid_client", 7000215)
    no_secret = {k: v for k, v in form.items() if k != "client_secret"}
    assert_aad_error(await client.post(TOKEN, data=no_secret), 401, "invalid_client", 7000218)
    unknown = await client.post(TOKEN, data=form | {"client_id": "someone-else"})
    assert_aad_error(unknown, 400, "unauthorized_client", 700016)
    basic = base64.b64encode(f"{APP.client_id}:{APP.client_secret}".encode()).decode()
    body_less = {k: v for k, v in form.items() if k not in SECRET}
    response = await client.post(TOKEN, data=body_less, headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200, response.text


async def test_json_body_and_unknown_grant_are_rejected(client: httpx.AsyncClient) -> None:
    before = await counters(client)
    callback, verifier = await authorize(client)
    response = await client.post(TOKEN, json=code_form(callback["code"], verifier))
    assert_aad_error(response, 400, "invalid_request", 900144)
    assert (await counters(client))["token_exchanges"] == before["token_exchanges"] + 1
    password = await client.post(TOKEN, data={"grant_type": "password"} | SECRET)
    assert_aad_error(password, 400, "unsupported_grant_type", 70003)
    nowhere = await client.post(f"{LOGIN}/nowhere.test/oauth2/v2.0/token", data=code_form("c", verifier))
    assert_aad_error(nowhere, 400, "invalid_request", 90002)


async def test_refresh_tokens_rotate(client: httpx.AsyncClient) -> None:
    first = await install(client)
    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]} | SECRET
    response = await client.post(TOKEN, data=form | {"scope": "User.Read offline_access"})
    assert response.status_code == 200, response.text
    second = response.json()
    assert set(second) == set(first) and CANARY in second["refresh_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert claims(second["id_token"])["tid"] == world.CONTOSO.id
    assert_aad_error(await client.post(TOKEN, data=form), 400, "invalid_grant", 9002313)
    wider = {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]} | SECRET
    response = await client.post(TOKEN, data=wider | {"scope": "ChannelMessage.Read.All"})
    assert_aad_error(response, 400, "invalid_grant", 65001)
    for token in (first["access_token"], second["access_token"]):  # access tokens live until they expire
        assert (await client.get(f"{GRAPH}/me", headers=bearer(token))).status_code == 200


async def test_admin_consent_unlocks_a_tenant_that_requires_it(client: httpx.AsyncClient) -> None:
    callback, _ = await authorize(client, world.FABRIKAM)
    assert callback["error"] == "consent_required" and callback["state"] == "st-" + "x" * 40
    assert callback["error_description"].startswith(
        "AADSTS65001: The user or administrator has not consented to use the application with ID "
        f"'{APP.client_id}'"
    )
    query = {"client_id": APP.client_id, "scope": "https://graph.microsoft.com/.default"}
    query |= {"redirect_uri": REDIRECT, "state": "admin-state"}
    page = await client.get(ADMIN_CONSENT, params=query)
    assert page.status_code == 200 and 'id="tenant"' in page.text and 'id="approve"' in page.text
    declined = callback_query(await submit(client, "cancel", ADMIN_CONSENT, query))
    assert declined["admin_consent"] == "True" and declined["error"] == "access_denied"
    assert declined["error_description"].startswith("AADSTS65004: ") and declined["state"] == "admin-state"
    assert "tenant" not in declined
    granted = await grant_admin_consent(client, world.FABRIKAM)
    assert granted["admin_consent"] == "True" and granted["tenant"] == world.FABRIKAM.id
    assert granted["state"] == "admin-state" and "https://graph.microsoft.com/User.Read" in granted["scope"]
    body = await install(client, world.FABRIKAM)
    assert claims(body["id_token"])["tid"] == world.FABRIKAM.id
    me = await client.get(f"{GRAPH}/me", headers=bearer(body["access_token"]))
    assert me.json()["userPrincipalName"] == world.FABRIKAM.user.upn


async def test_admin_consent_endpoint_validates_like_entra(client: httpx.AsyncClient) -> None:
    query = {
        "client_id": APP.client_id,
        "scope": "https://graph.microsoft.com/.default",
        "redirect_uri": REDIRECT,
    }
    common = await client.get(f"{LOGIN}/common/v2.0/adminconsent", params=query)
    assert common.status_code == 400 and "location" not in common.headers
    evil = await client.get(ADMIN_CONSENT, params=query | {"redirect_uri": "https://evil.test/cb"})
    assert evil.status_code == 400 and "AADSTS50011" in evil.text
    bad_scope = callback_query(await client.get(ADMIN_CONSENT, params=query | {"scope": "User.Read"}))
    assert bad_scope["error"] == "invalid_scope"


async def test_code_from_one_tenant_is_refused_at_another(client: httpx.AsyncClient) -> None:
    callback, verifier = await authorize(client)
    path = f"{LOGIN}/{world.FABRIKAM.id}/oauth2/v2.0/token"
    assert_aad_error(
        await client.post(path, data=code_form(callback["code"], verifier)), 400, "invalid_grant", 70000
    )
    callback, verifier = await authorize(client)
    path = f"{LOGIN}/{world.CONTOSO.domain}/oauth2/v2.0/token"
    assert (await client.post(path, data=code_form(callback["code"], verifier))).status_code == 200


async def test_graph_me_and_joined_teams(client: httpx.AsyncClient) -> None:
    token = (await install(client))["access_token"]
    me = (await client.get(f"{GRAPH}/me", headers=bearer(token))).json()
    assert me["id"] == world.CONTOSO.user.oid and me["displayName"] == "Megan Bowen"
    assert me["@odata.context"].endswith("$metadata#users/$entity")
    teams = (await client.get(f"{GRAPH}/me/joinedTeams", headers=bearer(token))).json()
    assert [t["displayName"] for t in teams["value"]] == ["Customer Support", "Operations"]
    assert "@odata.nextLink" not in teams
    assert {t["tenantId"] for t in teams["value"]} == {world.CONTOSO.id}


async def test_channels_page_with_next_link(client: httpx.AsyncClient) -> None:
    token = (await install(client))["access_token"]
    first = await client.get(f"{GRAPH}/teams/{SUPPORT.id}/channels", headers=bearer(token))
    assert first.status_code == 200
    page = first.json()
    assert len(page["value"]) == 4 and page["value"][0]["displayName"] == "General"
    assert page["value"][0]["id"].startswith("19:") and page["value"][0]["membershipType"] == "standard"
    next_link = page["@odata.nextLink"]
    assert next_link.startswith(f"http://sandbox.test{GRAPH}/teams/{SUPPORT.id}/channels?$skiptoken=")
    rest = (await client.get(next_link, headers=bearer(token))).json()
    assert "@odata.nextLink" not in rest
    names = [c["displayName"] for c in page["value"] + rest["value"]]
    assert names == [c.display_name for c in SUPPORT.channels]
    selected = await client.get(
        f"{GRAPH}/teams/{SUPPORT.id}/channels", params={"$select": "id,displayName"}, headers=bearer(token)
    )
    assert all(set(c) == {"id", "displayName"} for c in selected.json()["value"])
    assert "$select=id,displayName" in selected.json()["@odata.nextLink"]


async def test_graph_list_errors(client: httpx.AsyncClient) -> None:
    token = (await install(client))["access_token"]
    channels = f"{GRAPH}/teams/{SUPPORT.id}/channels"
    for params in ({"$select": "nope"}, {"$top": "2"}, {"$skiptoken": "garbage!"}):
        response = await client.get(channels, params=params, headers=bearer(token))
        assert response.status_code == 400 and response.json()["error"]["code"] == "BadRequest", params
    other_path = base64.urlsafe_b64encode(f"4|{GRAPH}/teams/x/channels".encode()).decode()
    stolen = await client.get(channels, params={"$skiptoken": other_path}, headers=bearer(token))
    assert stolen.status_code == 400
    leadership = world.CONTOSO.teams[2]
    response = await client.get(f"{GRAPH}/teams/{leadership.id}/channels", headers=bearer(token))
    assert response.status_code == 403 and response.json()["error"]["code"] == "Forbidden"
    foreign = world.FABRIKAM.teams[0].id
    response = await client.get(f"{GRAPH}/teams/{foreign}/channels", headers=bearer(token))
    assert response.status_code == 404 and response.json()["error"]["code"] == "NotFound"


async def test_graph_rejects_bad_expired_and_narrow_tokens(client: httpx.AsyncClient, redis_url: str) -> None:
    for headers, message in (({}, "Access token is empty."), (bearer("eyJ.garbage.x"), "IDX14100")):
        response = await client.get(f"{GRAPH}/me", headers=headers)
        assert response.status_code == 401 and "Bearer" in response.headers["www-authenticate"]
        error = response.json()["error"]
        assert error["code"] == "InvalidAuthenticationToken" and message in error["message"]
        assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    token = (await install(client, scope="openid User.Read"))["access_token"]
    teams = await client.get(f"{GRAPH}/me/joinedTeams", headers=bearer(token))
    assert teams.status_code == 403 and "Team.ReadBasic.All" in teams.json()["error"]["message"]
    key = f"sandbox:msteams:access:{hashlib.sha256(token.encode()).hexdigest()}"
    async with aioredis.from_url(redis_url) as redis:
        record = json.loads(await redis.get(key))
        await redis.set(key, json.dumps(record | {"exp": record["exp"] - 7200}))
    expired = await client.get(f"{GRAPH}/me", headers=bearer(token))
    assert expired.status_code == 401
    assert expired.json()["error"]["message"] == "Lifetime validation failed, the token is expired."


async def test_post_channel_message_records_delivery(client: httpx.AsyncClient) -> None:
    token = (await install(client))["access_token"]
    channel = SUPPORT.channels[1]
    path = f"{GRAPH}/teams/{SUPPORT.id}/channels/{quote(channel.id, safe='')}/messages"
    payload = {"body": {"contentType": "html", "content": "Ticket <b>#123</b> created"}}
    response = await client.post(path, json=payload, headers=bearer(token))
    assert response.status_code == 201, response.text
    message = response.json()
    assert message["body"] == payload["body"] and message["messageType"] == "message"
    assert message["channelIdentity"] == {"teamId": SUPPORT.id, "channelId": channel.id}
    assert message["from"]["user"]["id"] == world.CONTOSO.user.oid and message["replyToId"] is None
    inspected = await client.get(INSPECT)
    assert {"channelIdentity": message["channelIdentity"], **payload} in inspected.json()["deliveries"]
    assert CANARY not in inspected.text
    for bad in ({"body": {"content": "  "}}, {"text": "hi"}, {"body": {"contentType": "md", "content": "x"}}):
        response = await client.post(path, json=bad, headers=bearer(token))
        assert response.status_code == 400 and response.json()["error"]["code"] == "BadRequest", bad
    as_form = await client.post(path, data={"body": "hi"}, headers=bearer(token))
    assert as_form.status_code == 400
    elsewhere = (
        f"{GRAPH}/teams/{SUPPORT.id}/channels/{quote(world.FABRIKAM.teams[0].channels[0].id)}/messages"
    )
    assert (await client.post(elsewhere, json=payload, headers=bearer(token))).status_code == 404
    read_only = (await install(client, scope="openid Channel.ReadBasic.All"))["access_token"]
    assert (await client.post(path, json=payload, headers=bearer(read_only))).status_code == 403


async def test_revoke_sign_in_sessions_kills_refresh_tokens(client: httpx.AsyncClient) -> None:
    admin_scope = SCOPES + " User.RevokeSessions.All"
    callback, _ = await authorize(client, scope=admin_scope)
    assert callback["error"] == "consent_required"  # an admin-only permission, even in Contoso
    await grant_admin_consent(client, world.CONTOSO)
    powerful = await install(client, scope=admin_scope)
    ordinary = await install(client)
    forbidden = await client.post(
        f"{GRAPH}/me/revokeSignInSessions", headers=bearer(ordinary["access_token"])
    )
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "Authorization_RequestDenied"
    missing = await client.post(
        f"{GRAPH}/users/nobody@nowhere.test/revokeSignInSessions", headers=bearer(powerful["access_token"])
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "Request_ResourceNotFound"
    before = await counters(client)
    path = f"{GRAPH}/users/{world.CONTOSO.user.upn}/revokeSignInSessions"
    response = await client.post(path, headers=bearer(powerful["access_token"]))
    assert response.status_code == 200 and response.json()["value"] is True
    assert (await counters(client))["revocations"] == before["revocations"] + 1
    for body in (powerful, ordinary):
        form = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]} | SECRET
        assert_aad_error(await client.post(TOKEN, data=form), 400, "invalid_grant", 50173)
    assert (await client.get(f"{GRAPH}/me", headers=bearer(ordinary["access_token"]))).status_code == 200
    fresh = await install(client)
    form = {"grant_type": "refresh_token", "refresh_token": fresh["refresh_token"]} | SECRET
    assert (await client.post(TOKEN, data=form)).status_code == 200


async def test_graph_throttling_and_hostile_names_via_faults(client: httpx.AsyncClient) -> None:
    token = (await install(client))["access_token"]
    fault = {"mode": "rate_limited", "target": "api", "retry_after": "float"}
    assert (await client.put("/sandbox/msteams/_fault", json=fault)).status_code == 200
    try:
        response = await client.get(f"{GRAPH}/me/joinedTeams", headers=bearer(token))
        assert response.status_code == 429 and response.headers["retry-after"] == "1.5"
        error = response.json()["error"]
        assert error["code"] == "TooManyRequests" and error["innerError"]["status"] == "429"
        token_call = await client.post(TOKEN, data={"grant_type": "refresh_token"})
        assert token_call.status_code == 400  # target "api" leaves the login host alone
        hostile = {"mode": "hostile_name", "target": "api", "text": "<img src=x>"}
        await client.put("/sandbox/msteams/_fault", json=hostile)
        teams = (await client.get(f"{GRAPH}/me/joinedTeams", headers=bearer(token))).json()
        assert {t["displayName"] for t in teams["value"]} == {"<img src=x>"}
    finally:
        assert (await client.delete("/sandbox/msteams/_fault")).status_code == 204
