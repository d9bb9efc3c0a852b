import base64
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx
from pydantic import SecretStr

from tms_console.domain.errors import ProviderError
from tms_console.domain.reasons import Reason
from tms_console.oauth import oauth2
from tms_console.oauth.http import close_http_client
from tms_console.providers.config import ResolvedProvider
from tms_console.providers.hooks.slack import SlackHooks
from tms_console.providers.registry import DISCORD, SLACK


def provider(spec=DISCORD) -> ResolvedProvider:  # type: ignore[no-untyped-def]
    return ResolvedProvider(
        spec,
        "cid",
        SecretStr("csecret"),
        "https://tms.example/cb",
        spec.authorize_url,
        spec.api_base,
        stand_in=False,
    )


def test_discord_authorize_url() -> None:
    url = oauth2.authorize_url(provider(), state="s" * 43, code_challenge=None)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://discord.com/oauth2/authorize"
    assert query["scope"] == ["identify guilds bot webhook.incoming"]
    assert query["response_type"] == ["code"] and query["permissions"] == ["84992"]
    assert query["redirect_uri"] == ["https://tms.example/cb"] and query["state"] == ["s" * 43]
    assert "%20" in url or "+" in url


def test_slack_scopes_comma_separated() -> None:
    query = parse_qs(urlsplit(oauth2.authorize_url(provider(SLACK), state="x", code_challenge=None)).query)
    assert query["scope"] == ["chat:write,chat:write.public,channels:read,groups:read,incoming-webhook"]


def test_pkce_pair() -> None:
    verifier, challenge = oauth2.new_pkce_pair()
    assert 43 <= len(verifier) <= 128 and "=" not in challenge and verifier != oauth2.new_pkce_pair()[0]


@respx.mock
async def test_exchange_is_form_encoded_with_basic_auth() -> None:
    route = respx.post("https://discord.com/api/oauth2/token").mock(
        return_value=httpx.Response(200, json={"access_token": "a", "token_type": "Bearer"})
    )
    status, body = await oauth2.exchange_code(provider(), code="c1", code_verifier=None)
    await close_http_client()
    request = route.calls.last.request
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["authorization"].startswith("Basic ")
    assert parse_qs(request.content.decode()) == {
        "grant_type": ["authorization_code"],
        "code": ["c1"],
        "redirect_uri": ["https://tms.example/cb"],
    }
    assert status == 200 and body["access_token"] == "a"


@respx.mock
async def test_basic_credentials_are_form_encoded_first() -> None:
    """RFC 6749 §2.3.1; the sandboxes refuse raw ':' '+' '%' in Basic credentials, as real servers may."""
    route = respx.post("https://discord.com/api/oauth2/token").mock(
        return_value=httpx.Response(200, json={"access_token": "a", "token_type": "Bearer"})
    )
    odd = ResolvedProvider(
        DISCORD,
        "id:1",
        SecretStr("s+e/c%r:t"),
        "https://tms.example/cb",
        "",
        DISCORD.api_base,
        stand_in=False,
    )
    await oauth2.exchange_code(odd, code="c1", code_verifier=None)
    await close_http_client()
    sent = route.calls.last.request.headers["authorization"].removeprefix("Basic ")
    assert base64.b64decode(sent).decode() == "id%3A1:s%2Be%2Fc%25r%3At"


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (
            httpx.Response(400, json={"error": "invalid_grant", "error_description": 'Invalid "code"'}),
            Reason.INVALID_GRANT,
        ),
        (httpx.Response(401, json={"error": "invalid_client"}), Reason.INVALID_CLIENT),
        (
            httpx.Response(
                400, json={"error": "invalid_grant", "error_description": 'Invalid "redirect_uri"'}
            ),
            Reason.REDIRECT_URI_MISMATCH,
        ),
        (httpx.Response(502, text="bad gateway"), Reason.PROVIDER_UNAVAILABLE),
        (httpx.Response(429, headers={"Retry-After": "5"}, json={"message": "slow"}), Reason.RATE_LIMITED),
        (
            httpx.Response(200, text="<html>hi</html>", headers={"content-type": "text/html"}),
            Reason.BAD_RESPONSE,
        ),
        (
            httpx.Response(200, content=b"{bad json", headers={"content-type": "application/json"}),
            Reason.BAD_RESPONSE,
        ),
    ],
)
@respx.mock
async def test_token_failures_map_to_reasons(response: httpx.Response, reason: Reason) -> None:
    respx.post("https://discord.com/api/oauth2/token").mock(return_value=response)
    with pytest.raises(ProviderError) as info:
        status, body = await oauth2.exchange_code(provider(), code="c", code_verifier=None)
        oauth2.check_token_response(status, body)
    await close_http_client()
    assert info.value.reason is reason


@respx.mock
async def test_timeout_is_provider_unavailable() -> None:
    respx.post("https://discord.com/api/oauth2/token").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(ProviderError) as info:
        await oauth2.exchange_code(provider(), code="c", code_verifier=None)
    await close_http_client()
    assert info.value.reason is Reason.PROVIDER_UNAVAILABLE


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        ("invalid_code", Reason.INVALID_GRANT),
        ("bad_client_secret", Reason.INVALID_CLIENT),
        ("bad_redirect_uri", Reason.REDIRECT_URI_MISMATCH),
        ("something_new", Reason.PROVIDER_ERROR),
    ],
)
def test_slack_ok_false_with_200_is_failure(error: str, reason: Reason) -> None:
    with pytest.raises(ProviderError) as info:
        SlackHooks().check_token_response(200, {"ok": False, "error": error})
    assert info.value.reason is reason


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (
            400,
            {"error": "redirect_uri_mismatch", "error_description": "Bad Request"},
            "redirect_uri_mismatch",
        ),
        (
            400,
            {"error": "invalid_client", "error_description": "AADSTS50011: The redirect URI specified ..."},
            "redirect_uri_mismatch",
        ),
        (
            401,
            {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret"},
            "invalid_client",
        ),
        (400, {"error": "invalid_grant", "error_description": "AADSTS50148: code_verifier"}, "invalid_grant"),
        (400, {"error": "unsupported_grant_type"}, "invalid_request"),
    ],
)
def test_microsoft_and_google_token_errors_get_their_reasons(status, body, reason) -> None:
    with pytest.raises(ProviderError) as raised:
        oauth2.check_token_response(status, body)
    assert raised.value.reason.value == reason


@pytest.mark.parametrize(
    ("error", "description", "reason"),
    [
        (
            "consent_required",
            "AADSTS65001: The user or administrator has not consented",
            "admin_consent_required",
        ),
        ("access_denied", "AADSTS65004: User declined to consent", "access_denied"),
        ("interaction_required", "AADSTS90094: admin consent required", "admin_consent_required"),
        ("access_denied", "", "access_denied"),
    ],
)
def test_authorize_errors_tell_admin_consent_apart(error, description, reason) -> None:
    assert oauth2.authorize_error_reason(error, description).value == reason
