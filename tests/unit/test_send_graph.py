"""send_message for Microsoft Teams, Google Chat and WhatsApp: every answer mapped (respx, no network)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from tests.utils.sending import answer, api_of, assert_secret_free, rendered, send, sent_json
from tms_console.domain.messages import Outcome
from tms_console.providers.registry import HOOKS

TOKEN = "delegated-access-token"
TEAM, CHANNEL = "team-1", "19:abc@thread.tacv2"
TEAMS_META = {"team_id": TEAM, "channel_id": CHANNEL, "target_id": f"{TEAM}/{CHANNEL}"}
TEAMS_POST = "https://graph.microsoft.com/v1.0/teams/team-1/channels/19%3Aabc%40thread.tacv2/messages"


@respx.mock
async def test_teams_posts_the_card_and_replies_to_the_first_message() -> None:
    route = respx.post(TEAMS_POST).mock(return_value=answer(201, {"id": "1700000000001"}))
    first = await send("msteams", {"access_token": TOKEN}, TEAMS_META)
    assert (first.outcome, first.http_status) == (Outcome.DELIVERED, 201)
    assert first.thread_handle == "1700000000001"
    assert sent_json(route) == rendered("msteams").payload
    assert route.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"
    reply = respx.post(f"{TEAMS_POST}/1700000000001/replies").mock(return_value=answer(201, {"id": "2"}))
    result = await send("msteams", {"access_token": TOKEN}, TEAMS_META, thread_handle="1700000000001")
    assert result.outcome is Outcome.DELIVERED and result.thread_handle == "" and reply.called


@pytest.mark.parametrize(
    ("status", "code", "handle", "outcome"),
    [
        (401, "InvalidAuthenticationToken", "", Outcome.AUTH_FAILED),
        (403, "Forbidden", "", Outcome.AUTH_FAILED),
        (404, "NotFound", "", Outcome.AUTH_FAILED),
        (404, "NotFound", "1", Outcome.REJECTED),  # only the ticket's first message is gone
        (400, "BadRequest", "", Outcome.REJECTED),
    ],
)
@respx.mock
async def test_teams_failures(status: int, code: str, handle: str, outcome: Outcome) -> None:
    respx.route(method="POST", host="graph.microsoft.com").mock(
        return_value=answer(status, {"error": {"code": code, "message": "nope"}})
    )
    result = await send("msteams", {"access_token": TOKEN}, TEAMS_META, thread_handle=handle)
    assert (result.outcome, result.http_status, result.reason) == (outcome, status, code)
    assert_secret_free(result, TOKEN)


@respx.mock
async def test_teams_throttling_and_server_errors_retry() -> None:
    route = respx.post(TEAMS_POST)
    route.mock(return_value=answer(429, {"error": {"code": "TooManyRequests"}}, **{"Retry-After": "1.5"}))
    limited = await send("msteams", {"access_token": TOKEN}, TEAMS_META)
    assert (limited.outcome, limited.retry_after) == (Outcome.RETRY, 1.5)
    route.mock(return_value=answer(502, "bad gateway"))
    assert (await send("msteams", {"access_token": TOKEN}, TEAMS_META)).http_status == 502


SPACE = "spaces/AAAAsandbox"
CHAT_POST = f"https://chat.googleapis.com/v1/{SPACE}/messages"


@respx.mock
async def test_google_chat_posts_with_the_thread_key_and_reply_option() -> None:
    route = respx.post(CHAT_POST).mock(return_value=answer(200, {"name": f"{SPACE}/messages/m1"}))
    result = await send("google_chat", {"access_token": TOKEN}, {"target_id": SPACE}, thread_handle="x")
    assert (result.outcome, result.thread_handle) == (Outcome.DELIVERED, "")
    request = route.calls.last.request
    assert dict(request.url.params) == {"messageReplyOption": "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"}
    sent = sent_json(route)
    assert sent["thread"]["threadKey"].startswith("tms-ticket-")
    # A user's credentials may not post cards: the renderer's text goes alone.
    assert "cardsV2" not in sent and sent["text"] == rendered("google_chat").payload["text"]


@pytest.mark.parametrize(
    ("status", "google_status", "outcome"),
    [
        (401, "UNAUTHENTICATED", Outcome.AUTH_FAILED),
        (403, "PERMISSION_DENIED", Outcome.AUTH_FAILED),
        (404, "NOT_FOUND", Outcome.AUTH_FAILED),
        (400, "INVALID_ARGUMENT", Outcome.REJECTED),
        (429, "RESOURCE_EXHAUSTED", Outcome.RETRY),
    ],
)
@respx.mock
async def test_google_chat_failures(status: int, google_status: str, outcome: Outcome) -> None:
    body = {"error": {"code": status, "message": "no", "status": google_status}}
    respx.post(CHAT_POST).mock(return_value=answer(status, body))
    result = await send("google_chat", {"access_token": TOKEN}, {"target_id": SPACE})
    assert (result.outcome, result.http_status) == (outcome, status)
    assert result.reason == ("rate_limited" if status == 429 else google_status.lower())
    assert_secret_free(result, TOKEN)


async def test_google_chat_and_teams_and_whatsapp_refuse_missing_or_odd_targets() -> None:
    cases: list[tuple[str, dict[str, Any]]] = [
        ("google_chat", {"target_id": "spaces/../../x"}),
        ("msteams", {"team_id": TEAM}),
        ("whatsapp", {"phone_number_id": "1234", "recipient": "call me"}),
    ]
    for provider, meta in cases:
        result = await HOOKS[provider].send_message(api_of(provider), {}, meta, rendered(provider))
        assert (result.outcome, result.reason) == (Outcome.AUTH_FAILED, "missing_channel")


PHONE = "106540352242922"
WA_POST = f"https://graph.facebook.com/v21.0/{PHONE}/messages"
WA_META = {"phone_number_id": PHONE, "recipient": "+15551234567"}


@respx.mock
async def test_whatsapp_sends_the_template_to_the_recipient() -> None:
    body = {"messaging_product": "whatsapp", "messages": [{"id": "wamid.X", "message_status": "accepted"}]}
    route = respx.post(WA_POST).mock(return_value=answer(200, body))
    result = await send("whatsapp", {"access_token": TOKEN}, WA_META, thread_handle="ignored")
    assert (result.outcome, result.thread_handle) == (Outcome.DELIVERED, "")
    sent = sent_json(route)
    assert sent["to"] == "15551234567" and sent["type"] == "template"
    assert sent["template"] == rendered("whatsapp", WA_META).payload["template"]


@pytest.mark.parametrize(
    ("status", "code", "outcome"),
    [
        (401, 190, Outcome.AUTH_FAILED),
        (403, 200, Outcome.AUTH_FAILED),
        (400, 80007, Outcome.RETRY),
        (400, 130429, Outcome.RETRY),
        (400, 132001, Outcome.REJECTED),
        (400, 132012, Outcome.REJECTED),
        (400, 100, Outcome.REJECTED),
    ],
)
@respx.mock
async def test_whatsapp_failures_key_on_the_graph_code(status: int, code: int, outcome: Outcome) -> None:
    error = {"message": f"(#{code}) nope", "type": "OAuthException", "code": code, "fbtrace_id": "A"}
    respx.post(WA_POST).mock(return_value=answer(status, {"error": error}))
    result = await send("whatsapp", {"access_token": TOKEN}, WA_META)
    assert (result.outcome, result.http_status, result.reason) == (outcome, status, f"graph_{code}")
    assert_secret_free(result, TOKEN)


@respx.mock
async def test_whatsapp_server_error_and_timeout_retry() -> None:
    route = respx.post(WA_POST)
    route.mock(return_value=answer(500, {"error": {"code": 1, "message": "unknown"}}))
    assert (await send("whatsapp", {"access_token": TOKEN}, WA_META)).outcome is Outcome.RETRY
    route.mock(side_effect=httpx.ReadTimeout("slow"))
    assert (await send("whatsapp", {"access_token": TOKEN}, WA_META)).outcome is Outcome.RETRY
