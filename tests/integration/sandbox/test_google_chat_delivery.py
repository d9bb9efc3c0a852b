"""Google Chat `spaces.messages.create` as delivery uses it: cardsV2 through a webhook, thread keys with
`messageReplyOption`, auth failures, message faults, and the channel page (PROVIDERS.md §4.6, §4.8)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.integration.sandbox.test_google_chat_sandbox import (
    APP,
    BASE,
    INSPECT,
    SPACES,
    bearer,
    google_error,
    install,
    make_client,
)

REPLY = "&messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"  # added to the webhook URL's query


def cards(title: str) -> list[dict[str, Any]]:
    button = {"text": "Open", "onClick": {"openLink": {"url": "https://tms.test/t/5"}}}
    widgets = [
        {"textParagraph": {"text": "Printer on fire"}},
        {"decoratedText": {"topLabel": "Status", "text": "open"}},
        {"buttonList": {"buttons": [button]}},
    ]
    card = {"header": {"title": title, "subtitle": "Ticket #5"}, "sections": [{"widgets": widgets}]}
    return [{"cardId": "ticket", "card": card}]


@pytest.fixture(scope="module")
async def client(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for http in make_client(redis_url, APP):
        yield http


@pytest.fixture(scope="module")
async def hook(client: httpx.AsyncClient) -> str:
    minted = await client.post(f"{BASE}/_webhooks", json={"space": "spaces/AAQAincidnt", "name": "TMS"})
    url = urlsplit(minted.json()["url"])
    return f"{url.path}?{url.query}"


async def received(http: httpx.AsyncClient, space: str) -> list[dict[str, Any]]:
    channels = (await http.get(INSPECT)).json()["channels"]
    return next(c["messages"] for c in channels if c["id"] == space)


async def test_cards_and_thread_keys_through_the_webhook(client: httpx.AsyncClient, hook: str) -> None:
    marker = uuid.uuid4().hex[:8]
    thread = {"threadKey": f"ticket-{marker}"}
    first = await client.post(hook + REPLY, json={"text": marker, "cardsV2": cards(marker), "thread": thread})
    assert first.status_code == 200, first.text
    second = await client.post(hook + REPLY, json={"text": f"{marker} again", "thread": thread})
    assert second.json()["thread"]["name"] == first.json()["thread"]["name"]
    kept = [m for m in await received(client, "AAQAincidnt") if m["text"].startswith(marker)]
    assert [m["thread"] for m in kept] == [first.json()["thread"]["name"]] * 2
    assert kept[0]["via"] == "webhook"
    assert kept[0]["cards"] == [
        {"title": marker, "subtitle": "Ticket #5", "texts": ["Printer on fire"],
         "fields": [["Status", "open"]], "links": [["Open", "https://tms.test/t/5"]]}
    ]  # fmt: skip


@pytest.mark.parametrize(
    "bad",
    [
        [{"cardId": "c", "card": {"sections": [{"widgets": [{"marquee": {}}]}]}}],
        [{"cardId": "c", "card": {"title": "x", "sections": []}}],
        [{"cardId": "c", "card": {"sections": [{"widgets": [{"textParagraph": {}, "divider": {}}]}]}}],
        [{"cardId": "c", "card": {"sections": "none"}}],
        {"cardId": "c"},
    ],
)
async def test_cards_are_validated(client: httpx.AsyncClient, hook: str, bad: Any) -> None:
    google_error(await client.post(hook, json={"text": "x", "cardsV2": bad}), 400, "INVALID_ARGUMENT")


async def test_user_auth_is_checked_and_cannot_send_cards(client: httpx.AsyncClient) -> None:
    url = f"{SPACES}/AAQAsupport/messages"
    google_error(await client.post(url, json={"text": "x"}), 401, "UNAUTHENTICATED")
    google_error(
        await client.post(url, json={"text": "x"}, headers=bearer("ya29.nope")), 401, "UNAUTHENTICATED"
    )
    token = (await install(client))["access_token"]
    with_cards = await client.post(url, json={"text": "x", "cardsV2": cards("t")}, headers=bearer(token))
    assert "cannot have cards" in google_error(with_cards, 400, "INVALID_ARGUMENT")


async def test_message_faults(client: httpx.AsyncClient, hook: str) -> None:
    marker = uuid.uuid4().hex[:8]
    try:
        await client.put("/sandbox/google_chat/_fault", json={"mode": "rate_limited", "target": "messages"})
        google_error(await client.post(hook, json={"text": marker}), 429, "RESOURCE_EXHAUSTED")
        await client.put(
            "/sandbox/google_chat/_fault", json={"mode": "status", "status": 500, "target": "messages"}
        )
        assert (await client.post(hook, json={"text": marker})).status_code == 500
    finally:
        await client.delete("/sandbox/google_chat/_fault")
    assert not [m for m in await received(client, "AAQAincidnt") if m["text"] == marker]


async def test_channel_page_marks_all_mentions_and_escapes(client: httpx.AsyncClient, hook: str) -> None:
    text = "<users/all> <script>alert(1)</script> <https://evil.test|docs>"
    assert (
        await client.post(hook, json={"text": text, "cardsV2": cards("<svg onload=x>")})
    ).status_code == 200
    page = (await client.get("/sandbox/google_chat/channels/AAQAincidnt")).text
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<svg" not in page and "&lt;svg onload=x&gt;" in page
    assert '<span class="mention">@all</span>' in page and ">docs</a>" in page
    assert "<h1>Incidents</h1>" in page
