"""Providers without an OAuth redirect, end to end over real HTTP against their sandboxes:
Telegram (pasted bot token, inbound updates, chat pick) and WhatsApp (embedded signup result)."""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterator

import httpx
import pytest

from devtools.seed import demo_id
from tests.integration.test_install_flow import row
from tests.utils.forms import click
from tests.utils.identities import project_id, token_for
from tests.utils.live import sandbox_origin
from tms_console.providers.ready_made import READY_MADE
from tms_console.security import signing

ACME = "Acme"


@pytest.fixture
def api(live_url) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {token_for(ACME, 'ada@acme.example')}"}
    with httpx.Client(base_url=live_url, headers=headers, timeout=20) as client:
        yield client


def base(project: object) -> str:
    return f"/v1/tenants/{demo_id(ACME)}/projects/{project}/integrations"


def card(api: httpx.Client, project: object, kind: str) -> dict:
    listing = api.get(base(project)).json()["integrations"]
    return next(item for item in listing if item["type"] == kind)


def new_bot(client: httpx.Client) -> str:
    page = client.post(f"{sandbox_origin()}/sandbox/telegram/botfather", data={"name": "Support bot"})
    match = re.search(r'<code id="bot-token">([^<]+)</code>', page.text)
    assert match, page.text[:500]
    return match.group(1)


def add_to_chat(client: httpx.Client, token: str, chat_id: int, title: str, status: str = "member") -> dict:
    answer = client.post(
        f"{sandbox_origin()}/sandbox/telegram/_add_to_chat",
        json={
            "bot_token": token,
            "chat": {"id": chat_id, "title": title, "type": "supergroup"},
            "status": status,
        },
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_telegram_bot_token_chat_pick_and_uninstall(api, db, canary) -> None:
    project = project_id(ACME, "Onboarding")
    token = new_bot(api)
    assert canary in token
    assert api.post(f"{base(project)}/telegram", json={"bot_token": token}).status_code == 200
    found = row(db, "telegram", project)
    assert found is not None
    meta = found[1]
    assert meta["account_name"].startswith("@") and meta["endpoint_id"] and meta["chats"] == []
    assert card(api, project, "telegram")["status"] == "needs_setup"
    assert canary not in str(meta)

    # The sandbox delivers a real my_chat_member update to our inbound URL with the secret token.
    delivered = add_to_chat(api, token, -1001900000042, "Support <b>Room</b>")
    assert delivered["delivered"] is True and delivered["status_code"] == 200
    targets = api.get(f"{base(project)}/telegram/targets").json()["targets"]
    assert targets == [{"id": "-1001900000042", "name": "Support <b>Room</b>", "group": ""}]
    assert api.put(f"{base(project)}/telegram/target", json={"target_id": "-1009999"}).status_code == 400
    chosen = api.put(f"{base(project)}/telegram/target", json={"target_id": "-1001900000042"})
    assert chosen.status_code == 200
    shown = card(api, project, "telegram")
    assert shown["status"] == "connected" and shown["channel"] == "#Support <b>Room</b>"

    # Removing the bot from the chosen chat forgets it (and the picked target with it): reconnect.
    add_to_chat(api, token, -1001900000042, "Support <b>Room</b>", status="left")
    assert card(api, project, "telegram")["status"] == "needs_reconnect"

    assert api.delete(f"{base(project)}/telegram").status_code == 204
    assert row(db, "telegram", project) is None
    info = api.get(f"{sandbox_origin()}/sandbox/telegram/bot{token}/getWebhookInfo").json()["result"]
    assert info["url"] == ""  # uninstall deleted the webhook at Telegram


def test_telegram_inbound_rejects_a_wrong_secret_and_unknown_endpoints(api, db) -> None:
    project = project_id(ACME, "Billing Desk")
    token = new_bot(api)
    assert api.post(f"{base(project)}/telegram", json={"bot_token": token}).status_code == 200
    endpoint = row(db, "telegram", project)[1]["endpoint_id"]
    update = {"update_id": 1, "my_chat_member": {"chat": {"id": -5, "title": "Evil", "type": "group"},
                                                 "new_chat_member": {"status": "member"}}}  # fmt: skip
    url = f"/api/public/integrations/telegram/inbound/{endpoint}"
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
        assert api.post(url, json=update, headers=headers).status_code == 404
    unknown = f"/api/public/integrations/telegram/inbound/{secrets.token_urlsafe(24)}"
    assert api.post(unknown, json=update).status_code == 404
    assert row(db, "telegram", project)[1]["chats"] == []
    api.delete(f"{base(project)}/telegram")


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("not-a-token", "invalid_input"),
        ("123456789:" + "A" * 35, "invalid_input"),  # the right shape, unknown to Telegram
    ],
)
def test_telegram_bad_tokens_are_refused_clearly(api, db, token, reason) -> None:
    project = project_id(ACME, "Customer Support")
    answer = api.post(f"{base(project)}/telegram", json={"bot_token": token})
    assert answer.status_code == 400 and answer.json()["reason"] == reason
    assert row(db, "telegram", project) is None


def test_telegram_unreachable_is_a_clear_error(api, db) -> None:
    project = project_id(ACME, "Customer Support")
    token = new_bot(api)
    api.put(
        f"{sandbox_origin()}/sandbox/telegram/_fault",
        json={"mode": "status", "status": 503, "target": "both"},
    )
    try:
        answer = api.post(f"{base(project)}/telegram", json={"bot_token": token})
    finally:
        api.delete(f"{sandbox_origin()}/sandbox/telegram/_fault")
    assert answer.status_code == 502 and answer.json()["reason"] == "provider_unavailable"
    assert row(db, "telegram", project) is None


def test_connect_refuses_unknown_fields_and_redirect_providers(api) -> None:
    project = project_id(ACME, "Customer Support")
    extra = api.post(f"{base(project)}/telegram", json={"bot_token": "1:x", "sneaky": "y"})
    assert extra.status_code == 400 and extra.json()["reason"] == "invalid_input"
    assert api.post(f"{base(project)}/discord", json={}).status_code == 400


def signup(client: httpx.Client, live_url: str, waba: str | None = None) -> dict:
    params = {
        "client_id": "sandbox-whatsapp-client",
        "config_id": "1900000000000001",
        "redirect_uri": f"{live_url}/api/public/integrations/whatsapp/callback",
        "response_type": "code",
        "state": "x",
    }
    page = client.get(f"{sandbox_origin()}/sandbox/whatsapp/dialog", params=params)
    assert page.status_code == 200, page.text[:300]
    method, action, data = click(page.text, str(page.url), "approve")
    if waba:
        data["waba_id"] = waba
    answer = client.request(method, action, data=data, headers={"Accept": "application/json"})
    assert answer.status_code == 200, answer.text[:300]
    return answer.json()


def test_whatsapp_embedded_signup_result_connects(api, db, live_url, canary) -> None:
    project = project_id(ACME, "Billing Desk")
    result = signup(api, live_url)
    before = api.get(f"{sandbox_origin()}/sandbox/whatsapp/_inspect").json()["token_exchanges"]
    connected = api.post(f"{base(project)}/whatsapp", json=result | {"recipient": "+1 555 123 0042"})
    assert connected.status_code == 200, connected.text
    assert api.get(f"{sandbox_origin()}/sandbox/whatsapp/_inspect").json()["token_exchanges"] == before + 1
    shown = card(api, project, "whatsapp")
    assert shown["status"] == "connected" and shown["account"] and shown["channel"] == "+15551230042"
    meta = row(db, "whatsapp", project)[1]
    assert meta["waba_id"] == result["waba_id"] and canary not in str(meta)
    assert (meta["recipient"], meta["target_id"]) == ("+15551230042", "+15551230042")
    # The same code cannot be used twice.
    again = api.post(f"{base(project)}/whatsapp", json=result)
    assert again.status_code == 502 and again.json()["reason"] == "invalid_grant"
    revocations = api.get(f"{sandbox_origin()}/sandbox/whatsapp/_inspect").json()["revocations"]
    assert api.delete(f"{base(project)}/whatsapp").status_code == 204
    assert api.get(f"{sandbox_origin()}/sandbox/whatsapp/_inspect").json()["revocations"] == revocations + 1


def test_whatsapp_without_a_recipient_needs_setup_until_one_is_entered(api, db, live_url) -> None:
    project = project_id(ACME, "Onboarding")
    result = signup(api, live_url)
    before = api.get(f"{sandbox_origin()}/sandbox/whatsapp/_inspect").json()["token_exchanges"]
    refused = api.post(f"{base(project)}/whatsapp", json=result | {"recipient": "555 0100"})
    assert refused.status_code == 400 and "country code" in refused.json()["detail"]
    assert row(db, "whatsapp", project) is None  # refused before the code was spent at Meta
    assert api.get(f"{sandbox_origin()}/sandbox/whatsapp/_inspect").json()["token_exchanges"] == before

    assert api.post(f"{base(project)}/whatsapp", json=result).status_code == 200
    assert card(api, project, "whatsapp")["status"] == "needs_setup"
    assert "recipient" not in row(db, "whatsapp", project)[1]
    untested = api.post(f"{base(project)}/whatsapp/test")
    assert untested.status_code == 400 and untested.json()["reason"] == "needs_target"
    assert "does not know where to post yet" in untested.json()["detail"]
    assert api.get(f"{base(project)}/whatsapp/targets").status_code == 404  # typed, not picked from a list
    bad = api.put(f"{base(project)}/whatsapp/target", json={"target_id": "call me maybe"})
    assert bad.status_code == 400 and "country code" in bad.json()["detail"]
    assert card(api, project, "whatsapp")["status"] == "needs_setup"

    chosen = api.put(f"{base(project)}/whatsapp/target", json={"target_id": "+44 20 7946 0958"})
    assert chosen.status_code == 200 and chosen.json()["id"] == "+442079460958"
    assert card(api, project, "whatsapp")["status"] == "connected"
    assert row(db, "whatsapp", project)[1]["recipient"] == "+442079460958"
    tested = api.post(f"{base(project)}/whatsapp/test")
    assert tested.status_code == 200 and tested.json()["result"].startswith("Delivered"), tested.text
    assert api.delete(f"{base(project)}/whatsapp").status_code == 204


def test_whatsapp_refuses_a_waba_the_code_does_not_reach(api, db, live_url) -> None:
    project = project_id(ACME, "Onboarding")
    result = signup(api, live_url)
    forged = result | {"waba_id": "1010000000000021"}  # Globex's WABA, not granted to this code
    answer = api.post(f"{base(project)}/whatsapp", json=forged)
    assert answer.status_code == 502 and answer.json()["reason"] == "invalid_scope"
    assert row(db, "whatsapp", project) is None


def test_webhook_connect_reveals_the_secret_once_and_signs_deliveries(api, db, live_url) -> None:
    project = project_id(ACME, "Onboarding")
    endpoint = "ep" + secrets.token_hex(4)
    fields = {
        "url": f"{sandbox_origin()}/sandbox/webhook/receive/{endpoint}",
        "events": ["ticket.resolved", "ticket.created"],
        "template": READY_MADE["slack"],
    }
    connected = api.post(f"{base(project)}/webhook", json=fields)
    assert connected.status_code == 200, connected.text
    secret = connected.json()["reveal"]["signing_secret"]
    assert secret.startswith("whsec_")
    shown = card(api, project, "webhook")
    assert shown["status"] == "connected" and shown["account"] == "127.0.0.1"
    assert secret not in api.get(base(project)).text and secret not in str(row(db, "webhook", project))
    assert row(db, "webhook", project)[1]["events"] == ["ticket.created", "ticket.resolved"]

    tested = api.post(f"{base(project)}/webhook/test")
    assert (
        tested.status_code == 200 and tested.json()["result"] == "Delivered: Webhook accepted it (HTTP 200)."
    )
    deliveries = [
        d
        for d in api.get(f"{sandbox_origin()}/sandbox/webhook/_inspect").json()["deliveries"]
        if d["endpoint"] == endpoint
    ]
    assert len(deliveries) == 1
    delivery = deliveries[0]
    assert signing.verify(secret, delivery["body"].encode(), delivery["headers"], now=int(time.time()))
    assert "text" in json.loads(delivery["body"])  # the Slack template shaped it
    api.delete(f"{base(project)}/webhook")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"url": "https://169.254.169.254/latest", "events": ["ticket.created"]}, "metadata"),
        ({"url": "ftp://example.com/x", "events": ["ticket.created"]}, ""),
        ({"url": "https://example.com/x", "events": ["nope"]}, "pick from the list"),
        ({"url": "{live}/sandbox/webhook/receive/x", "events": ["ticket.resolved"], "template": "{{"}, "tem"),
    ],
    ids=["metadata", "ftp", "unknown-event", "bad-template"],
)
def test_webhook_bad_input_is_refused_clearly(api, db, live_url, fields, message) -> None:
    project = project_id(ACME, "Customer Support")
    fields = fields | {"url": fields["url"].replace("{live}", sandbox_origin())}
    answer = api.post(f"{base(project)}/webhook", json=fields)
    assert answer.status_code == 400 and answer.json()["reason"] == "invalid_input"
    assert message.lower() in answer.json()["detail"].lower()
    assert row(db, "webhook", project) is None
