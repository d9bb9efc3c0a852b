"""One hostile corpus through every renderer into the sandbox, end to end: seven integrations installed
through the console's real flows into one project, hostile ticket events posted to the real intake, the
real worker process delivering them, and what each sandbox channel received read back.

The sandbox reads a message as its platform would (sandbox/message_links.py, each provider's mentions):
no message may notify anyone beyond the channel, show a link other than the ticket's own, or let
markup through; each is cut at its platform's limit; and the corpus is still there as plain text,
which proves it arrived. The webhook carries the event verbatim (JSON is data), signed.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from standardwebhooks.webhooks import Webhook

from sandbox.msteams_fixtures import CONTOSO
from tests.integration.test_connect_flows import add_to_chat, new_bot, signup
from tests.utils.deliveries import running_worker, wait_for
from tests.utils.events import Place, new_place, ticket_event
from tests.utils.forms import click
from tests.utils.live import sandbox_origin
from tms_console.providers.render.text import utf16_length
from tms_console.security import signing
from tms_console.security.identity import Identity, issue_token
from tms_console.security.session import SESSION_COOKIE
from tms_console.settings import get_settings

MARKER = "Hostile" + uuid.uuid4().hex[:8]
URL = "https://tms.example/t/acme/tickets/1042"
CORPUS = " ".join(
    [
        "<!channel> <!here> <!everyone> <@U024BE7LH> <#C024BE7LR> <https://evil.example|click me>",
        "@everyone @here @channel @all <@&123456789012345678> <@123456789012345678> @support_lead",
        "[click](https://evil.example/a) [x](javascript:alert(1)) ![img](https://evil.example/i.png)",
        "**bold** __u__ ~~s~~ ||spoiler|| `code` > quote # heading <https://evil.example/angle>",
        '<b>bold</b><a href="https://evil.example">x</a><a href="tg://user?id=42">u</a><script>x</script>',
        "&amp; &lt;b&gt; <users/all> <users/123456789> {{ 7*7 }}",
        '"}]},{"type":"Action.OpenUrl","title":"Pay","url":"https://evil.example/pay"}',
        "http://evil.example/p https://evil.example/phish ftp://evil.example tg://user?id=1 www.evil.example",
        "\x00\x07\x1b[31m \u202egnp.exe\u202c \u200b\ufeff 👩\u200d👩\u200d👧 ünï 日本",
    ]
)
SHORT = "<!here> @everyone <users/all> <b>x</b>"  # status and priority take 50 characters
SUBJECT = f"{MARKER} {CORPUS} " + "S" * 2000
PROVIDERS = ("slack", "discord", "msteams", "google_chat", "telegram", "whatsapp")
# Words of the corpus every message must still show as plain text (it arrived, and reads as typed), and
# words from deeper in it that a comment shows where the platform's message has room for one.
VISIBLE = ("channel", "everyone", "U024BE7LH", "click me", "evil.example")
IN_COMMENTS = ("javascript", "bold", "users/all", "Action.OpenUrl", "tg[:]//user", "www[.]evil")
INVISIBLE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


@dataclass(frozen=True)
class Installed:
    place: Place
    webhook_endpoint: str
    webhook_secret: str
    integrations: dict[str, uuid.UUID]


def agent_client(live_url: str, place: Place) -> httpx.Client:
    """An agent of the place's own tenant, signed in to the console."""
    identity = Identity("hostile-agent", "Hostile Agent", place.tenant_id, "agent")
    client = httpx.Client(base_url=live_url, follow_redirects=False, timeout=30)
    client.cookies.set(SESSION_COOKIE, issue_token(identity, get_settings()), domain="127.0.0.1")
    return client


def base(place: Place) -> str:
    return f"/v1/tenants/{place.tenant_id}/projects/{place.project_id}/integrations"


def card(client: httpx.Client, place: Place, kind: str) -> dict[str, Any]:
    listing = client.get(base(place)).json()["integrations"]
    return next(item for item in listing if item["type"] == kind)


def oauth_install(client: httpx.Client, place: Place, kind: str, **choices: str) -> None:
    """Install in the console, approve at the sandbox, follow the callback."""
    started = client.get(
        f"/api/console/integrations/{kind}/install", params={"project_id": str(place.project_id)}
    )
    assert started.status_code == 303, started.text
    page = client.get(started.headers["location"])
    method, action, data = click(page.text, str(page.url), "approve", **choices)
    answer = client.request(method, action, data=data)
    assert answer.status_code in (302, 303), answer.text[:300]
    done = client.get(answer.headers["location"])
    assert done.status_code == 303 and "status=success" in done.headers["location"], done.headers


def pick_target(client: httpx.Client, place: Place, kind: str, target: str | None = None) -> None:
    if card(client, place, kind)["status"] == "connected":
        return
    targets = client.get(f"{base(place)}/{kind}/targets").json()["targets"]
    chosen = target or targets[0]["id"]
    assert client.put(f"{base(place)}/{kind}/target", json={"target_id": chosen}).status_code == 200


def install_everything(
    client: httpx.Client, live_url: str, place: Place, db: psycopg.Connection
) -> Installed:
    """All seven integrations in one project, each connected to a sandbox channel."""
    oauth_install(client, place, "slack")
    oauth_install(client, place, "discord")
    oauth_install(client, place, "msteams", tenant_id=CONTOSO.id)
    oauth_install(client, place, "google_chat")
    pick_target(client, place, "slack")
    pick_target(client, place, "msteams")
    pick_target(client, place, "google_chat", "spaces/AAQAsupport")

    bot = new_bot(client)
    assert client.post(f"{base(place)}/telegram", json={"bot_token": bot}).status_code == 200
    chat = -1001900000000 - int(uuid.uuid4().int % 99_999)
    add_to_chat(client, bot, chat, "Hostile desk")
    pick_target(client, place, "telegram", str(chat))

    whatsapp = signup(client, live_url) | {"recipient": "+15551230042"}
    assert client.post(f"{base(place)}/whatsapp", json=whatsapp).status_code == 200
    endpoint = "hostile" + uuid.uuid4().hex[:8]
    fields = {
        "url": f"{sandbox_origin()}/sandbox/webhook/receive/{endpoint}",
        "events": ["ticket.created", "ticket.commented"],
    }
    connected = client.post(f"{base(place)}/webhook", json=fields)
    assert connected.status_code == 200, connected.text
    rows = db.execute(
        "SELECT integration_type, id FROM project_integrations WHERE project_id = %s", (place.project_id,)
    ).fetchall()
    integrations = {kind: row_id for kind, row_id in rows}
    for kind in (*PROVIDERS, "webhook"):
        assert card(client, place, kind)["status"] == "connected", (kind, card(client, place, kind))
    return Installed(place, endpoint, connected.json()["reveal"]["signing_secret"], integrations)


def hostile_events() -> list[dict[str, Any]]:
    """A new ticket full of the corpus (an over-long subject), then a hostile comment in its thread."""
    ticket = ticket_event(ticket_id="T-hostile-" + MARKER)["ticket"] | {
        "subject": SUBJECT[:2000],
        "status": SHORT,
        "priority": SHORT,
        "url": URL,
        "requester": {"id": "c-1", "name": CORPUS, "email": "carol@example.com"},
        "assignee": {"id": "a-1", "name": CORPUS},
    }
    actor = {"id": "c-1", "name": CORPUS}
    comment = {"comment": {"body": (CORPUS + "\n") * 20 + "😀" * 3000}}
    return [
        ticket_event("ticket.created", ticket=ticket, actor=actor),
        ticket_event("ticket.commented", ticket=ticket, actor=actor, changes=comment),
    ]


@pytest.fixture(scope="module")
def delivered(
    live_url: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Installed, list[dict[str, Any]]]]:
    """Everything installed, both events posted through the intake and delivered by a real worker."""
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as db:
        place = new_place(db)
        with agent_client(live_url, place) as client:
            installed = install_everything(client, live_url, place, db)
        events = hostile_events()
        token = place.token()
        for event in events:
            answer = httpx.post(
                live_url + place.path, json=event, headers={"Authorization": f"Bearer {token}"}, timeout=30
            )
            assert answer.status_code == 202 and answer.json()["deliveries"] == 7, answer.text
        log = tmp_path_factory.mktemp("hostile") / "worker.log"
        with running_worker(log) as process:
            rows = wait_for(
                db,
                "SELECT integration_type, status, last_reason FROM deliveries WHERE project_id = %s",
                (place.project_id,),
                lambda rows: len(rows) == 14 and all(r[1] in ("delivered", "failed", "paused") for r in rows),
                timeout=90,
            )
            assert process.poll() is None, Path(log).read_text()[-3000:]
        assert all(status == "delivered" for _, status, _ in rows), rows
        yield installed, events


def received(provider: str) -> list[dict[str, Any]]:
    """The messages of this test's ticket in the provider's sandbox channels, oldest first."""
    channels = httpx.get(f"{sandbox_origin()}/sandbox/{provider}/_inspect", timeout=10).json()["channels"]
    return [m for c in channels for m in c["messages"] if MARKER in json.dumps(m, ensure_ascii=False)]


def shown(message: dict[str, Any]) -> list[str]:
    """Every text the channel shows for a message: its text, and its cards' titles, texts and fields."""
    texts = [message["text"]]
    for item in message["cards"]:
        texts += [item["title"], item["subtitle"], *item["texts"], *(value for _, value in item["fields"])]
    return [text for text in texts if text]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_no_mention_no_foreign_link_and_the_corpus_still_shows(
    delivered: tuple[Installed, list[dict[str, Any]]], provider: str
) -> None:
    messages = received(provider)
    assert len(messages) == 2, [m["text"][:80] for m in messages]  # the new ticket, then its comment
    for message in messages:
        assert message["mentions"] == [], (provider, message["mentions"])
        assert message["links"] == [URL], (provider, message["links"])  # the reader does see our link
        everything = " ".join(shown(message))
        assert MARKER in everything and all(word in everything for word in VISIBLE), (provider, everything)
        assert not INVISIBLE.search(everything.replace("\n", "")), provider
    # WhatsApp's template and a Google Chat post with a user's credentials have no place for a comment.
    if provider not in ("whatsapp", "google_chat"):
        comment = " ".join(shown(messages[1])).replace("\\", "")  # Discord's escapes aside
        assert all(word in comment for word in IN_COMMENTS), (provider, comment[:2000])


def test_slack_shows_its_control_sequences_escaped_within_block_limits(delivered: Any) -> None:
    for message in received("slack"):
        assert "&lt;!channel&gt;" in json.dumps(message, ensure_ascii=False)
        (item,) = message["cards"]
        assert len(item["title"]) <= 150 and len(message["text"]) <= 3000
        assert all(len(text) <= 3000 for text in item["texts"])
        assert all(len(value) <= 2000 for _, value in item["fields"])
        assert item["title"].endswith("…")


def test_discord_embed_escapes_markdown_and_fits_its_limits(delivered: Any) -> None:
    for message in received("discord"):
        (embed,) = message["cards"]
        assert len(embed["title"]) <= 256 and embed["title"].endswith("…")
        assert all(len(text) <= 4096 for text in embed["texts"])
        assert all(len(value) <= 1024 for _, value in embed["fields"])
        texts = [embed["title"], *embed["texts"], *(name + value for name, value in embed["fields"])]
        assert sum(map(len, texts)) <= 6000
        texts = [embed["title"], *embed["texts"], *(value for _, value in embed["fields"])]
        assert any(r"\[click\]\(https\[:\]//evil" in text for text in texts)  # as typed, not a link
        assert message["text"] == ""  # no content: nothing that could ping


def test_telegram_parses_only_our_markup_and_fits_4096(delivered: Any) -> None:
    for message in received("telegram"):
        text = message["text"]
        assert re.findall(r"<[^>]*>", text) == ["<b>", "</b>", f'<a href="{URL}">', "</a>"]
        assert utf16_length(text) <= 4096 and "\uff20U024BE7LH" in text  # no @username mention either
    comment = received("telegram")[1]["text"]
    assert "&lt;script&gt;" in comment and "&lt;a href=&quot;tg[:]//user?id=42&quot;&gt;" in comment
    assert utf16_length(comment) > 3500 and "…" in comment  # the long comment filled it, then was cut


def test_teams_card_keeps_the_text_inside_its_runs(delivered: Any) -> None:
    for message in received("msteams"):
        (item,) = message["cards"]
        assert item["title"] in ("New ticket", "New comment")  # only our label is a TextBlock
        assert item["links"] == [["Open ticket", URL]]  # the injected Action.OpenUrl stayed text
        assert message["text"] == '<attachment id="tms-ticket-card"></attachment>'
        assert all(len(text) <= 4001 for text in item["texts"])  # within the card's own cuts
    (comment,) = received("msteams")[1]["cards"]
    assert any('"type":"Action.OpenUrl","title":"Pay"' in text for text in comment["texts"])


def test_google_chat_text_has_no_markup_but_our_link(delivered: Any) -> None:
    for message in received("google_chat"):
        text, link = message["text"].rsplit("\n", 1)
        assert link == f"<{URL}|Open ticket>"
        assert "<" not in text and ">" not in text and "\u2039!channel\u203a" in text
        assert len(text) <= 500 and text.endswith("…")
        assert message["cards"] == []  # a post with a user's credentials carries no card


def test_whatsapp_template_parameters_follow_the_rules(delivered: Any) -> None:
    for message in received("whatsapp"):
        (item,) = message["cards"]
        (body,) = item["texts"]
        assert len(body) <= 1024 and body.endswith(URL)


def test_the_webhook_carries_the_event_verbatim_and_signed(delivered: Any) -> None:
    installed, events = delivered
    snapshot = httpx.get(f"{sandbox_origin()}/sandbox/webhook/_inspect", timeout=10).json()
    records = [d for d in snapshot["deliveries"] if d["endpoint"] == installed.webhook_endpoint]
    assert len(records) == 2
    for record, event in zip(records, events, strict=True):
        payload = Webhook(installed.webhook_secret).verify(record["body"], record["headers"])
        assert signing.verify(
            installed.webhook_secret, record["body"].encode(), record["headers"], now=time.time()
        )
        expected = json.loads(json.dumps(event).replace("\\u0000", "\\ufffd"))  # the intake's one change
        assert payload["ticket"] == expected["ticket"] and payload["changes"] == expected["changes"]
        assert payload["actor"] == expected["actor"] and "<!channel> <!here>" in record["body"]
