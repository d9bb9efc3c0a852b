"""send_message for Slack, Discord and Telegram: every answer mapped to its outcome (respx, no network)."""

from __future__ import annotations

import httpx
import pytest
import respx

from tests.utils.sending import answer, api_of, assert_secret_free, rendered, send, sent_json
from tms_console.domain.messages import Outcome
from tms_console.providers.hooks._send import body_wait, excerpt
from tms_console.providers.registry import HOOKS

SLACK_POST = "https://slack.com/api/chat.postMessage"
SLACK_TOKEN = "xoxb-secret-bot-token"
SLACK = ({"access_token": SLACK_TOKEN}, {"channel_id": "C0001", "team_id": "T1"})


@respx.mock
async def test_slack_posts_to_the_channel_and_returns_the_first_ts() -> None:
    route = respx.post(SLACK_POST).mock(return_value=answer(200, {"ok": True, "ts": "1700.0001"}))
    result = await send("slack", *SLACK)
    assert (result.outcome, result.http_status, result.thread_handle) == (Outcome.DELIVERED, 200, "1700.0001")
    body = sent_json(route)
    assert body["channel"] == "C0001" and "thread_ts" not in body
    assert body["blocks"] == rendered("slack").payload["blocks"]
    assert route.calls.last.request.headers["authorization"] == f"Bearer {SLACK_TOKEN}"


@respx.mock
async def test_slack_reply_goes_into_the_thread_and_a_picked_target_wins() -> None:
    route = respx.post(SLACK_POST).mock(return_value=answer(200, {"ok": True, "ts": "1700.0009"}))
    bundle, meta = SLACK
    result = await send("slack", bundle, meta | {"target_id": "C0002"}, thread_handle="1700.0001")
    assert result.outcome is Outcome.DELIVERED and result.thread_handle == ""
    assert sent_json(route)["thread_ts"] == "1700.0001" and sent_json(route)["channel"] == "C0002"


@pytest.mark.parametrize(
    "error", ["invalid_auth", "token_revoked", "account_inactive", "channel_not_found", "not_in_channel",
              "is_archived"],
)  # fmt: skip
@respx.mock
async def test_slack_credential_and_channel_errors_need_a_reconnect(error: str) -> None:
    respx.post(SLACK_POST).mock(return_value=answer(200, {"ok": False, "error": error}))
    result = await send("slack", *SLACK)
    assert (result.outcome, result.reason) == (Outcome.AUTH_FAILED, error)
    assert_secret_free(result, SLACK_TOKEN)


@respx.mock
async def test_slack_rate_limits_retry_with_the_wait_and_other_errors_are_final() -> None:
    route = respx.post(SLACK_POST)
    route.mock(return_value=answer(429, {"ok": False, "error": "ratelimited"}, **{"Retry-After": "30"}))
    limited = await send("slack", *SLACK)
    assert (limited.outcome, limited.http_status, limited.retry_after) == (Outcome.RETRY, 429, 30.0)
    route.mock(return_value=answer(200, {"ok": False, "error": "ratelimited"}))
    assert (await send("slack", *SLACK)).outcome is Outcome.RETRY
    route.mock(return_value=answer(200, {"ok": False, "error": "invalid_blocks"}))
    rejected = await send("slack", *SLACK)
    assert (rejected.outcome, rejected.reason) == (Outcome.REJECTED, "invalid_blocks")
    route.mock(return_value=answer(200, "<html>proxy</html>"))
    assert (await send("slack", *SLACK)).outcome is Outcome.RETRY


@respx.mock
async def test_server_errors_timeouts_and_connection_errors_retry_without_raising() -> None:
    route = respx.post(SLACK_POST)
    route.mock(return_value=answer(503, "down"))
    down = await send("slack", *SLACK)
    assert (down.outcome, down.http_status, down.reason) == (Outcome.RETRY, 503, "provider_unavailable")
    for failure in (httpx.ReadTimeout("slow"), httpx.ConnectError("refused")):
        route.mock(side_effect=failure)
        result = await send("slack", *SLACK)
        assert (result.outcome, result.http_status, result.reason) == (
            Outcome.RETRY,
            None,
            "provider_unavailable",
        )


async def test_without_a_target_nothing_is_sent() -> None:
    for provider, meta in (("slack", {}), ("discord", {"webhook_id": "x/../1"}), ("telegram", {})):
        result = await HOOKS[provider].send_message(api_of(provider), {}, meta, rendered(provider))
        assert (result.outcome, result.reason) == (Outcome.AUTH_FAILED, "missing_channel")


def test_details_are_bounded_and_masked_and_body_waits_are_read() -> None:
    detail = excerpt({"url": "https://x/bot123:SECRET/sendMessage", "pad": "é" * 2000}, ("123:SECRET",))
    assert "SECRET" not in detail and len(detail.encode()) <= 1024
    assert body_wait({"retry_after": 1.5}) == 1.5 and body_wait({"parameters": {"retry_after": 30}}) == 30
    assert body_wait({"retry_after": True}) is None and body_wait({"retry_after": float("inf")}) is None
    assert body_wait("text") is None and body_wait({"retry_after": -1}) is None
    assert excerpt(None) == "" and excerpt("plain") == "plain"


DISCORD_TOKEN = "webhook-secret-token"
DISCORD_META = {"webhook_id": "1190000000000000001", "channel_id": "1180000000000000100"}
DISCORD_HOOK = f"https://discord.com/api/v10/webhooks/1190000000000000001/{DISCORD_TOKEN}"
DISCORD = ({"webhook_token": DISCORD_TOKEN}, DISCORD_META)
POSTED = {"id": "1195000000000000001", "channel_id": "1180000000000000100"}
THREADS = "https://discord.com/api/v10/channels/1180000000000000100/messages/1195000000000000001/threads"


@respx.mock
async def test_discord_executes_the_webhook_and_the_bot_opens_the_ticket_thread() -> None:
    hook = respx.post(DISCORD_HOOK).mock(return_value=answer(200, POSTED))
    thread = respx.post(THREADS).mock(return_value=answer(201, {"id": POSTED["id"], "type": 11}))
    result = await send("discord", *DISCORD, bot="bot-token")
    assert (result.outcome, result.thread_handle) == (Outcome.DELIVERED, POSTED["id"])
    assert dict(hook.calls.last.request.url.params) == {"wait": "true"}
    assert sent_json(hook)["allowed_mentions"] == {"parse": []}
    assert thread.calls.last.request.headers["authorization"] == "Bot bot-token"
    name = sent_json(thread)["name"]
    assert name.startswith("#1042 Invoice PDF") and "\\" not in name and len(name) <= 100


@respx.mock
async def test_discord_without_a_bot_or_thread_start_posts_unthreaded_and_replies_use_thread_id() -> None:
    hook = respx.post(DISCORD_HOOK).mock(return_value=answer(200, POSTED))
    assert (await send("discord", *DISCORD)).thread_handle == ""  # no bot: no thread can be started
    respx.post(THREADS).mock(return_value=answer(403, {"message": "Missing Access", "code": 50001}))
    refused = await send("discord", *DISCORD, bot="bot-token")
    assert (refused.outcome, refused.thread_handle) == (Outcome.DELIVERED, "")
    reply = await send("discord", *DISCORD, thread_handle="1195000000000000001", bot="bot-token")
    assert reply.outcome is Outcome.DELIVERED and reply.thread_handle == ""
    assert dict(hook.calls.last.request.url.params) == {"wait": "true", "thread_id": "1195000000000000001"}


@pytest.mark.parametrize(
    ("status", "body", "handle", "outcome", "reason"),
    [
        (404, {"message": "Unknown Webhook", "code": 10015}, "", Outcome.AUTH_FAILED, "http_404"),
        (401, {"message": "Invalid Webhook Token", "code": 50027}, "", Outcome.AUTH_FAILED, "http_401"),
        (404, {"message": "Unknown Channel", "code": 10003}, "1195", Outcome.REJECTED, "unknown_thread"),
        (400, {"message": "Invalid Form Body", "code": 50035}, "", Outcome.REJECTED, "http_400"),
    ],
)
@respx.mock
async def test_discord_failures(status: int, body: dict, handle: str, outcome: Outcome, reason: str) -> None:
    respx.post(DISCORD_HOOK).mock(return_value=answer(status, body))
    result = await send("discord", *DISCORD, thread_handle=handle)
    assert (result.outcome, result.http_status, result.reason) == (outcome, status, reason)
    assert_secret_free(result, DISCORD_TOKEN)


@respx.mock
async def test_discord_429_waits_the_bodys_retry_after() -> None:
    limited = {"message": "You are being rate limited.", "retry_after": 1.5, "global": False}
    respx.post(DISCORD_HOOK).mock(return_value=answer(429, limited, **{"Retry-After": "2"}))
    result = await send("discord", *DISCORD)
    assert (result.outcome, result.retry_after, result.reason) == (Outcome.RETRY, 1.5, "rate_limited")


TG_TOKEN = "123456789:AAbbccddeeffgghhiijjkkllmmnnoopp"
TG_SEND = f"https://api.telegram.org/bot{TG_TOKEN}/sendMessage"
TELEGRAM = ({"bot_token": TG_TOKEN}, {"target_id": "-1001234567890"})


@respx.mock
async def test_telegram_sends_to_the_chat_and_replies_to_the_first_message() -> None:
    sent = {"ok": True, "result": {"message_id": 77, "chat": {"id": -1001234567890}}}
    route = respx.post(TG_SEND).mock(return_value=answer(200, sent))
    first = await send("telegram", *TELEGRAM)
    assert (first.outcome, first.thread_handle) == (Outcome.DELIVERED, "77")
    assert sent_json(route)["chat_id"] == -1001234567890 and sent_json(route)["parse_mode"] == "HTML"
    assert "reply_parameters" not in sent_json(route)
    reply = await send("telegram", *TELEGRAM, thread_handle="77")
    assert reply.outcome is Outcome.DELIVERED and reply.thread_handle == ""
    assert sent_json(route)["reply_parameters"] == {"message_id": 77, "allow_sending_without_reply": True}


@pytest.mark.parametrize(
    ("status", "description", "outcome", "reason"),
    [
        (403, "Forbidden: bot was kicked from the group chat", Outcome.AUTH_FAILED, "bot_removed"),
        (403, "Forbidden: bot was blocked by the user", Outcome.AUTH_FAILED, "bot_removed"),
        (401, "Unauthorized", Outcome.AUTH_FAILED, "invalid_token"),
        (400, "Bad Request: chat not found", Outcome.AUTH_FAILED, "chat_not_found"),
        (400, "Bad Request: can't parse entities", Outcome.REJECTED, "http_400"),
    ],
)
@respx.mock
async def test_telegram_failures(status: int, description: str, outcome: Outcome, reason: str) -> None:
    body = {"ok": False, "error_code": status, "description": description}
    respx.post(TG_SEND).mock(return_value=answer(status, body))
    result = await send("telegram", *TELEGRAM)
    assert (result.outcome, result.http_status, result.reason) == (outcome, status, reason)
    assert_secret_free(result, TG_TOKEN)


@respx.mock
async def test_telegram_429_waits_parameters_retry_after_and_the_token_never_leaks() -> None:
    body = {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 30",
            "parameters": {"retry_after": 30}}  # fmt: skip
    route = respx.post(TG_SEND).mock(return_value=answer(429, body))
    result = await send("telegram", *TELEGRAM)
    assert (result.outcome, result.retry_after) == (Outcome.RETRY, 30.0)
    route.mock(side_effect=httpx.ConnectError(f"cannot reach {TG_SEND}"))
    assert_secret_free(await send("telegram", *TELEGRAM), TG_TOKEN)
