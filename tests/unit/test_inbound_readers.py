"""The providers' inbound readers (hooks): what each call means, and every refusal, without HTTP."""

from __future__ import annotations

import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sandbox import app_events
from tms_console.domain.inbound import InboundRefused, Reply, StatusEvent
from tms_console.domain.status import IntegrationStatus
from tms_console.providers.registry import HOOKS

NOW = 1_800_000_000
SLACK_KEYS = {"signing_secret": app_events.SLACK_SIGNING_SECRET}
DISCORD_KEYS = {"public_key": app_events.discord_public_key()}
META_KEYS = {"app_secret": "meta-app-secret", "verify_token": "meta-verify-token"}
RECONNECT = IntegrationStatus.NEEDS_RECONNECT


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def slack_call(payload: Any, *, ts: int = NOW, secret: str = app_events.SLACK_SIGNING_SECRET) -> tuple:
    body = app_events.encode(payload)
    return lower(app_events.slack_headers(body, ts, secret)), body


def slack_event(event: dict[str, Any], **envelope: Any) -> dict[str, Any]:
    base = {"team_id": "T1", "api_app_id": "A1", "type": "event_callback", "event_id": "Ev1", "event": event}
    return base | envelope


def test_slack_app_uninstalled_and_tokens_revoked_name_the_workspace_and_app() -> None:
    slack = HOOKS["slack"]
    verified = slack.read_event(*slack_call(slack_event({"type": "app_uninstalled"})), SLACK_KEYS, NOW)
    match = {"team_id": "T1", "app_id": "A1"}
    assert verified.event_id == "Ev1" and verified.reply == Reply(200)
    assert verified.events == (StatusEvent(RECONNECT, "uninstalled_by_provider", match),)
    revoked = slack_event({"type": "tokens_revoked", "tokens": {"bot": ["U0BOT"]}})
    assert slack.read_event(*slack_call(revoked), SLACK_KEYS, NOW).events == (
        StatusEvent(RECONNECT, "tokens_revoked", match),
    )
    user_only = slack_event({"type": "tokens_revoked", "tokens": {"oauth": ["U1"]}})
    assert slack.read_event(*slack_call(user_only), SLACK_KEYS, NOW).events == ()  # we hold no user token
    for other in (
        slack_event({"type": "app_mention"}),
        slack_event({"type": "app_uninstalled"}, team_id=7.5),
    ):
        assert slack.read_event(*slack_call(other), SLACK_KEYS, NOW).events == ()


def test_slack_url_verification_answers_the_challenge_as_text() -> None:
    verified = HOOKS["slack"].read_event(
        *slack_call(
            {"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
        ),
        SLACK_KEYS,
        NOW,
    )
    assert verified.reply == Reply(200, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "text/plain")
    with pytest.raises(InboundRefused):  # never echoes markup
        HOOKS["slack"].read_event(
            *slack_call({"type": "url_verification", "challenge": "<script>"}), SLACK_KEYS, NOW
        )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda h, b: ({}, b), "missing_signature"),
        (lambda h, b: ({k: v for k, v in h.items() if "timestamp" not in k}, b), "missing_signature"),
        (lambda h, b: (h | {"x-slack-signature": "v0=" + "0" * 64}, b), "bad_signature"),
        (lambda h, b: (h, b + b" "), "bad_signature"),
        (lambda h, b: (h | {"x-slack-request-timestamp": "1800000001"}, b), "bad_signature"),
        (lambda h, b: (h | {"x-slack-request-timestamp": "18e8"}, b), "malformed"),
    ],
)
def test_slack_refusals(change: Any, reason: str) -> None:
    headers, body = change(*slack_call(slack_event({"type": "app_uninstalled"})))
    with pytest.raises(InboundRefused) as refused:
        HOOKS["slack"].read_event(headers, body, SLACK_KEYS, NOW)
    assert refused.value.reason == reason


def test_slack_stale_and_wrongly_keyed_calls_are_refused() -> None:
    call = slack_call(slack_event({"type": "app_uninstalled"}), ts=NOW - 301)
    with pytest.raises(InboundRefused, match="stale"):
        HOOKS["slack"].read_event(*call, SLACK_KEYS, NOW)
    with pytest.raises(InboundRefused, match="bad_signature"):
        HOOKS["slack"].read_event(*slack_call({"type": "x"}), {"signing_secret": "another-secret"}, NOW)
    with pytest.raises(InboundRefused, match="bad_signature"):
        HOOKS["slack"].read_event(*slack_call({"type": "x"}), {}, NOW)  # no key configured: nothing verifies
    with pytest.raises(InboundRefused, match="malformed"):
        body = b"[1, 2]"
        HOOKS["slack"].read_event(lower(app_events.slack_headers(body, NOW)), body, SLACK_KEYS, NOW)


def discord_call(payload: Any, *, ts: int = NOW, key: Ed25519PrivateKey | None = None) -> tuple:
    body = app_events.encode(payload)
    return lower(app_events.discord_headers(body, ts, key)), body


DEAUTHORIZED = {
    "version": 1,
    "application_id": "123",
    "type": 1,
    "event": {"type": "APPLICATION_DEAUTHORIZED", "timestamp": "x", "data": {"user": {"id": "42"}}},
}


def test_discord_ping_and_deauthorized() -> None:
    discord = HOOKS["discord"]
    assert discord.read_event(
        *discord_call({"version": 1, "application_id": "123", "type": 0}), DISCORD_KEYS, NOW
    ).reply == Reply(204)
    verified = discord.read_event(*discord_call(DEAUTHORIZED), DISCORD_KEYS, NOW)
    match = {"application_id": "123", "user_id": "42"}
    assert verified.reply == Reply(204) and verified.events == (
        StatusEvent(RECONNECT, "deauthorized", match),
    )
    authorized = DEAUTHORIZED | {"event": DEAUTHORIZED["event"] | {"type": "APPLICATION_AUTHORIZED"}}
    assert discord.read_event(*discord_call(authorized), DISCORD_KEYS, NOW).events == ()


def test_discord_refusals() -> None:
    discord = HOOKS["discord"]
    headers, body = discord_call(DEAUTHORIZED)
    cases = [
        (({}, body), "missing_signature"),
        ((headers, body.replace(b"42", b"43")), "bad_signature"),
        ((headers | {"x-signature-timestamp": str(NOW + 1)}, body), "bad_signature"),
        (discord_call(DEAUTHORIZED, key=Ed25519PrivateKey.generate()), "bad_signature"),
        (discord_call(DEAUTHORIZED, ts=NOW - 400), "stale"),
        (discord_call({"type": 9}), "malformed"),
    ]
    for (given_headers, given_body), reason in cases:
        with pytest.raises(InboundRefused) as refused:
            discord.read_event(given_headers, given_body, DISCORD_KEYS, NOW)
        assert refused.value.reason == reason
    assert discord.refusal.status == 401


def meta_call(payload: Any, secret: str = "meta-app-secret") -> tuple:
    body = app_events.encode(payload)
    return lower(app_events.meta_headers(body, secret)), body


def partner_removed(time_: int = NOW, waba: str = "555") -> dict[str, Any]:
    value = {"event": "PARTNER_REMOVED", "waba_info": {"waba_id": waba, "owner_business_id": "9"}}
    entry = {"id": "9", "time": time_, "changes": [{"field": "account_update", "value": value}]}
    return {"object": "whatsapp_business_account", "entry": [entry]}


def test_whatsapp_partner_removed_and_refusals() -> None:
    whatsapp = HOOKS["whatsapp"]
    verified = whatsapp.read_event(*meta_call(partner_removed()), META_KEYS, NOW)
    assert verified.reply == Reply(200)
    assert verified.events == (StatusEvent(RECONNECT, "uninstalled_by_provider", {"waba_id": "555"}),)
    message = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages"}]}],
    }
    assert whatsapp.read_event(*meta_call(message), META_KEYS, NOW).events == ()
    for (headers, body), reason in [
        (({}, meta_call(partner_removed())[1]), "missing_signature"),
        (meta_call(partner_removed(), secret="other"), "bad_signature"),
        (meta_call(partner_removed(time_=NOW - 600)), "stale"),
        (meta_call([1]), "malformed"),
    ]:
        with pytest.raises(InboundRefused) as refused:
            whatsapp.read_event(headers, body, META_KEYS, NOW)
        assert refused.value.reason == reason


def test_whatsapp_subscription_handshake() -> None:
    whatsapp = HOOKS["whatsapp"]
    query = {"hub.mode": "subscribe", "hub.verify_token": "meta-verify-token", "hub.challenge": "1158201444"}
    assert whatsapp.handshake(query, META_KEYS) == Reply(200, "1158201444", "text/plain")
    for bad in (
        query | {"hub.verify_token": "wrong"},
        query | {"hub.mode": "unsubscribe"},
        query | {"hub.challenge": "<b>"},
        {k: v for k, v in query.items() if k != "hub.verify_token"},
    ):
        assert whatsapp.handshake(bad, META_KEYS).status == 403
    assert whatsapp.handshake(query, {}).status == 403  # no verify token configured


def telegram_headers(secret: str = "s3cret") -> dict[str, str]:
    return {"x-telegram-bot-api-secret-token": secret, "content-type": "application/json"}


def kicked(status: str = "kicked", date: int = NOW) -> dict[str, Any]:
    change = {"chat": {"id": -100, "title": "T", "type": "group"}, "date": date}
    return {"update_id": 77, "my_chat_member": change | {"new_chat_member": {"status": status}}}


def test_telegram_bot_removed_from_a_chat() -> None:
    telegram = HOOKS["telegram"]
    verified = telegram.read_inbound(
        telegram_headers(), app_events.encode(kicked()), {"secret_token": "s3cret"}, NOW
    )
    assert verified.event_id == "77"
    assert verified.events == (StatusEvent(RECONNECT, "bot_removed", {"target_id": "-100"}),)
    for status in ("left", "kicked"):
        body = app_events.encode(kicked(status))
        assert telegram.read_inbound(telegram_headers(), body, {"secret_token": "s3cret"}, NOW).events
    joined = app_events.encode(kicked("member"))
    assert telegram.read_inbound(telegram_headers(), joined, {"secret_token": "s3cret"}, NOW).events == ()
    for headers, body, reason in [
        ({"content-type": "application/json"}, kicked(), "missing_signature"),
        (telegram_headers("wrong"), kicked(), "bad_signature"),
        (telegram_headers() | {"content-type": "text/plain"}, kicked(), "malformed"),
        (telegram_headers(), kicked(date=NOW - 301), "stale"),
        (telegram_headers(), {"update_id": "x"}, "malformed"),
    ]:
        with pytest.raises(InboundRefused) as refused:
            telegram.read_inbound(headers, app_events.encode(body), {"secret_token": "s3cret"}, NOW)
        assert refused.value.reason == reason
    assert telegram.refusal.status == 404


def test_the_readers_are_offered_where_the_flags_say() -> None:
    assert {key for key, hooks in HOOKS.items() if hooks.receives_events} == {"slack", "discord", "whatsapp"}
    assert {key for key, hooks in HOOKS.items() if hooks.receives_inbound} == {"telegram"}
    assert HOOKS["msteams"].handshake({}, {}).status == 404
    with pytest.raises(InboundRefused):
        HOOKS["msteams"].read_event({}, b"{}", {}, time.time())
