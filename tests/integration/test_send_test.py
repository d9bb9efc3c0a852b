""" "Send test message" for every provider, over real HTTP: each integration is installed the way an agent
installs it (OAuth consent, bot token, signup result, webhook form) against the sandbox providers, then
`POST .../test` posts a sample event marked as a test to the chosen target through the same renderer and
`send_message` a delivery uses. The sandbox shows what arrived; a sandbox fault mode comes back as a clear
sentence (and changes nothing); an integration with no target chosen yet is told so and sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest

from devtools.seed import demo_id
from sandbox.msteams_fixtures import CONTOSO
from tests.integration.test_connect_flows import add_to_chat, new_bot, signup
from tests.integration.test_install_flow import browser, install, query_of, row
from tests.integration.test_oauth_providers import approve, base, card, consent
from tests.utils.identities import project_id
from tests.utils.live import sandbox_origin

ACME = "Acme"
PROJECT = project_id(ACME, "Onboarding")
TELEGRAM_CHAT = -1001900000077
WEBHOOK_ENDPOINT = "send-test"
MARK = "Sent from the TMS Integrations Console"
CHAT_PROVIDERS = ["discord", "slack", "msteams", "google_chat", "telegram", "whatsapp"]
ALL_PROVIDERS = [*CHAT_PROVIDERS, "webhook"]


def connected(client: httpx.Client, kind: str) -> None:
    assert card(client, PROJECT, kind)["status"] == "connected", card(client, PROJECT, kind)


def pick_first(client: httpx.Client, kind: str, target: str | None = None) -> None:
    targets = client.get(f"{base(PROJECT)}/{kind}/targets").json()["targets"]
    chosen = target or targets[0]["id"]
    assert client.put(f"{base(PROJECT)}/{kind}/target", json={"target_id": chosen}).status_code == 200


def install_redirect(client: httpx.Client, kind: str) -> None:
    assert query_of(install(client, kind, PROJECT).headers["location"])["status"] == "success"


def install_msteams(client: httpx.Client) -> None:
    done = approve(client, consent(client, "msteams", PROJECT), tenant_id=CONTOSO.id)
    assert query_of(done.headers["location"])["status"] == "success"
    pick_first(client, "msteams")


def install_google_chat(client: httpx.Client) -> None:
    assert query_of(approve(client, consent(client, "google_chat", PROJECT)).headers["location"])[
        "status"
    ] == ("success")
    pick_first(client, "google_chat", "spaces/AAQAsupport")


def install_telegram(client: httpx.Client) -> None:
    token = new_bot(client)
    assert client.post(f"{base(PROJECT)}/telegram", json={"bot_token": token}).status_code == 200
    # Connected, but no chat yet: a test is refused with a sentence saying what to do, and nothing is sent.
    before = inspect(client, "telegram")["message_attempts"]
    untested = client.post(f"{base(PROJECT)}/telegram/test")
    assert untested.status_code == 400 and untested.json()["reason"] == "needs_target"
    assert untested.json()["detail"] == (
        "Telegram does not know where to post yet. Choose it on the card first, then try again."
    )
    assert inspect(client, "telegram")["message_attempts"] == before
    add_to_chat(client, token, TELEGRAM_CHAT, "Test <Desk>")
    pick_first(client, "telegram", str(TELEGRAM_CHAT))


def install_whatsapp(client: httpx.Client, live_url: str) -> None:
    result = signup(client, live_url) | {"recipient": "+15551230077"}
    assert client.post(f"{base(PROJECT)}/whatsapp", json=result).status_code == 200


def install_webhook(client: httpx.Client, query: str = "") -> None:
    url = f"{sandbox_origin()}/sandbox/webhook/receive/{WEBHOOK_ENDPOINT}{query}"
    fields = {"url": url, "events": ["ticket.created"]}
    assert client.post(f"{base(PROJECT)}/webhook", json=fields).status_code == 200


@pytest.fixture(scope="module")
def ada(live_url: str, database_url: str) -> Iterator[httpx.Client]:
    """Ada with all seven providers installed on Onboarding, each with its target chosen."""
    with browser(live_url, ACME, "ada@acme.example") as client:
        with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://")) as db:
            for kind in ALL_PROVIDERS:  # whatever an earlier test left
                if row(db, kind, PROJECT) is not None:
                    client.delete(f"{base(PROJECT)}/{kind}")
        installers: dict[str, Callable[[], None]] = {
            "discord": lambda: install_redirect(client, "discord"),
            "slack": lambda: install_redirect(client, "slack"),
            "msteams": lambda: install_msteams(client),
            "google_chat": lambda: install_google_chat(client),
            "telegram": lambda: install_telegram(client),
            "whatsapp": lambda: install_whatsapp(client, live_url),
            "webhook": lambda: install_webhook(client),
        }
        try:
            for kind, installer in installers.items():
                installer()
                connected(client, kind)
            yield client
        finally:
            for kind in ALL_PROVIDERS:
                client.delete(f"{base(PROJECT)}/{kind}")


def inspect(client: httpx.Client, kind: str) -> dict[str, Any]:
    return client.get(f"{sandbox_origin()}/sandbox/{kind}/_inspect").json()


def inbox(client: httpx.Client, kind: str) -> dict[str, list[dict[str, Any]]]:
    """Every message the sandbox provider received, by channel."""
    if kind == "webhook":
        received = [d for d in inspect(client, kind)["deliveries"] if d["endpoint"] == WEBHOOK_ENDPOINT]
        return {WEBHOOK_ENDPOINT: received}
    return {channel["id"]: channel["messages"] for channel in inspect(client, kind)["channels"]}


def new_messages(before: dict[str, list[Any]], after: dict[str, list[Any]]) -> list[tuple[str, Any]]:
    return [
        (channel, message)
        for channel, messages in after.items()
        for message in messages[len(before.get(channel, [])) :]
    ]


@pytest.mark.parametrize("kind", ALL_PROVIDERS)
def test_a_test_message_reaches_the_chosen_target(
    ada: httpx.Client, db: psycopg.Connection, kind: str
) -> None:
    status_before = row(db, kind, PROJECT)[2]
    deliveries = db.execute("SELECT count(*) FROM deliveries WHERE project_id = %s", (PROJECT,)).fetchone()
    before = inbox(ada, kind)
    answer = ada.post(f"{base(PROJECT)}/{kind}/test")
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"].startswith("Delivered: ") and "HTTP 2" in answer.json()["result"]
    [(channel, message)] = new_messages(before, inbox(ada, kind))
    meta = row(db, kind, PROJECT)[1]
    expected = {
        "slack": meta.get("target_id") or meta.get("channel_id"),
        "discord": meta.get("channel_id"),
        "msteams": meta.get("target_id", "").replace("/", ":"),
        "google_chat": "AAQAsupport",
        "telegram": str(TELEGRAM_CHAT),
        "whatsapp": f"{meta.get('phone_number_id')}:15551230077",
        "webhook": WEBHOOK_ENDPOINT,
    }[kind]
    assert channel == expected
    if kind != "msteams":  # the sandbox's Teams inbox does not keep RichTextBlock text yet
        assert MARK in str(message), message
    # A test is no delivery: no row, and the integration's status is as it was.
    assert row(db, kind, PROJECT)[2] == status_before == "active"
    assert (
        db.execute("SELECT count(*) FROM deliveries WHERE project_id = %s", (PROJECT,)).fetchone()
        == deliveries
    )


@pytest.mark.parametrize("kind", CHAT_PROVIDERS)
@pytest.mark.parametrize(
    ("fault", "reason", "words"),
    [
        (
            {"mode": "status", "status": 503, "target": "messages"},
            "provider_unavailable",
            "error on its side",
        ),
        ({"mode": "auth_error", "target": "messages"}, "needs_reconnect", "refused the stored credentials"),
    ],
    ids=["provider-down", "credentials-refused"],
)
def test_a_refused_test_says_why_in_plain_words_and_changes_nothing(
    ada: httpx.Client, db: psycopg.Connection, kind: str, fault: dict[str, Any], reason: str, words: str
) -> None:
    before = inbox(ada, kind)
    assert ada.put(f"{sandbox_origin()}/sandbox/{kind}/_fault", json=fault).status_code == 200
    try:
        answer = ada.post(f"{base(PROJECT)}/{kind}/test")
    finally:
        ada.delete(f"{sandbox_origin()}/sandbox/{kind}/_fault")
    assert answer.status_code == 502, answer.text
    body = answer.json()
    assert body["reason"] == reason and words in body["detail"], body
    assert new_messages(before, inbox(ada, kind)) == []
    assert row(db, kind, PROJECT)[2] == "active"  # the test reported it; deliveries decide the status
    assert ada.post(f"{base(PROJECT)}/{kind}/test").status_code == 200  # and with the fault gone, it works


@pytest.mark.parametrize(
    ("status", "reason", "words"),
    [
        (500, "provider_unavailable", "Webhook answered with an error on its side (HTTP 500, server_error)."),
        (410, "endpoint_gone", "The endpoint answered 410 Gone"),
        (400, "test_failed", "Webhook refused the message (HTTP 400, rejected)."),
    ],
)
def test_a_webhook_endpoint_failing_the_test_is_named(
    ada: httpx.Client, db: psycopg.Connection, status: int, reason: str, words: str
) -> None:
    install_webhook(ada, f"?status={status}")
    try:
        answer = ada.post(f"{base(PROJECT)}/webhook/test")
        assert answer.status_code == 502 and answer.json()["reason"] == reason
        assert words in answer.json()["detail"], answer.json()
        assert row(db, "webhook", PROJECT)[2] == "active"
    finally:
        install_webhook(ada)


def test_another_tenant_cannot_send_a_test(live_url: str, ada: httpx.Client) -> None:
    before = inbox(ada, "slack")
    with browser(live_url, "Globex", "gary@globex.example") as gary:
        for tenant in (demo_id(ACME), demo_id("Globex")):  # Acme's project, under either tenant
            answer = gary.post(f"/v1/tenants/{tenant}/projects/{PROJECT}/integrations/slack/test")
            assert answer.status_code == 404, answer.text
    assert new_messages(before, inbox(ada, "slack")) == []
