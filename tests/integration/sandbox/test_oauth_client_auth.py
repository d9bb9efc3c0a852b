"""Client authentication at every sandbox token endpoint, as RFC 6749 §2.3 and the providers have it.

Authentication is checked before the grant, so a made-up code tells the two apart: a request whose
client authentication passes fails on the code, one whose authentication fails never gets that far.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import quote_plus

import httpx
import pytest
from fastapi import FastAPI

from sandbox import SandboxApp, create_sandbox_router

CANARY = "CANARYclientauth3e9b"
# Characters that RFC 6749 §2.3.1's form-encoding changes: a Basic header that skipped it must fail.
CLIENT_ID = "tms console+1"
SECRET = "p@ss:w%rd+/é ü"


@dataclass(frozen=True)
class Endpoint:
    key: str
    path: str
    bad_code: str  # what a request that passed client authentication fails with
    bad_client: str  # what a wrong secret fails with
    two_methods: str  # what Basic and body credentials together fail with


ENDPOINTS = [
    Endpoint(
        "discord", "/sandbox/discord/api/oauth2/token", "invalid_grant", "invalid_client", "invalid_request"
    ),
    Endpoint(
        "slack",
        "/sandbox/slack/api/oauth.v2.access",
        "invalid_code",
        "bad_client_secret",
        "invalid_arguments",
    ),
    Endpoint(
        "msteams",
        "/sandbox/msteams/login/organizations/oauth2/v2.0/token",
        "invalid_grant",
        "invalid_client",
        "invalid_request",
    ),
    Endpoint(
        "google_chat",
        "/sandbox/google_chat/oauth2/token",
        "invalid_grant",
        "invalid_client",
        "invalid_request",
    ),
]


@pytest.fixture(scope="module")
async def client(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    apps = {e.key: SandboxApp(CLIENT_ID, SECRET, f"http://console.test/{e.key}/callback") for e in ENDPOINTS}
    app = FastAPI()
    app.include_router(create_sandbox_router(redis_url=redis_url, apps=apps, canary=CANARY))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as http:
        yield http


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


ENCODED = basic(quote_plus(CLIENT_ID), quote_plus(SECRET))
GRANT = {"grant_type": "authorization_code", "code": "4/0Anot-a-code", "redirect_uri": "http://x.test/cb"}


async def error_of(http: httpx.AsyncClient, endpoint: Endpoint, form: dict[str, str], **headers: str) -> str:
    response = await http.post(endpoint.path, data=GRANT | form, headers=headers)
    return str(response.json()["error"])


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.key)
async def test_basic_credentials_are_form_decoded(client: httpx.AsyncClient, endpoint: Endpoint) -> None:
    assert await error_of(client, endpoint, {}, **ENCODED) == endpoint.bad_code
    # Sent as-is, `+` decodes to a space: the secret no longer matches.
    raw = basic(quote_plus(CLIENT_ID), SECRET)
    assert await error_of(client, endpoint, {}, **raw) == endpoint.bad_client
    body = {"client_id": CLIENT_ID, "client_secret": SECRET}
    assert await error_of(client, endpoint, body) == endpoint.bad_code  # body fields are plain form values


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.key)
async def test_basic_and_body_credentials_together_are_refused(
    client: httpx.AsyncClient, endpoint: Endpoint
) -> None:
    both = {"client_id": CLIENT_ID, "client_secret": SECRET}
    assert await error_of(client, endpoint, both, **ENCODED) == endpoint.two_methods
    assert await error_of(client, endpoint, {"client_secret": SECRET}, **ENCODED) == endpoint.two_methods
    other_client = {"client_id": "someone-else"}
    assert await error_of(client, endpoint, other_client, **ENCODED) == endpoint.two_methods
    # The client's own id in the body next to Basic is not a second method (RFC 6749 §4.1.3).
    assert await error_of(client, endpoint, {"client_id": CLIENT_ID}, **ENCODED) == endpoint.bad_code


async def test_teams_two_methods_answer_like_entra(client: httpx.AsyncClient) -> None:
    teams = ENDPOINTS[2]
    form = GRANT | {"client_id": CLIENT_ID, "client_secret": SECRET}
    response = await client.post(teams.path, data=form, headers=ENCODED)
    assert response.status_code == 400 and response.json()["error_codes"] == [9002313]
