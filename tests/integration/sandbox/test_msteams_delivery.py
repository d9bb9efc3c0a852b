"""Teams channel messages through Graph as delivery uses them: post, reply, Adaptive Card attachments, Bearer
checks, message faults, and the channel page (PROVIDERS.md §3.8, §3.10)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from sandbox import msteams_fixtures as world
from tests.integration.sandbox.test_msteams_sandbox import (
    GRAPH,
    INSPECT,
    SUPPORT,
    bearer,
    install,
    make_client,
)

CHANNEL = SUPPORT.channels[1]
MESSAGES = f"{GRAPH}/teams/{SUPPORT.id}/channels/{quote(CHANNEL.id, safe='')}/messages"
INBOX_ID = f"{SUPPORT.id}:{CHANNEL.id}"


def card_message(title: str, attachment_id: str = "a1") -> dict[str, Any]:
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": title, "weight": "Bolder"},
            {"type": "Container", "items": [{"type": "TextBlock", "text": "Printer on fire"}]},
            {"type": "FactSet", "facts": [{"title": "Status", "value": "open"}]},
        ],
        "actions": [{"type": "Action.OpenUrl", "title": "Open ticket", "url": "https://tms.test/t/7"}],
    }
    attachment = {"id": attachment_id, "contentType": "application/vnd.microsoft.card.adaptive"}
    attachment |= {"contentUrl": None, "content": json.dumps(card)}
    body = {"contentType": "html", "content": f'<attachment id="{attachment_id}"></attachment>'}
    return {"body": body, "attachments": [attachment]}


@pytest.fixture(scope="module")
async def client(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for http in make_client(redis_url):
        yield http


@pytest.fixture(scope="module")
async def token(client: httpx.AsyncClient) -> str:
    return str((await install(client))["access_token"])


async def received(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    channels = (await http.get(INSPECT)).json()["channels"]
    return next(c["messages"] for c in channels if c["id"] == INBOX_ID)


async def test_card_message_and_replies(client: httpx.AsyncClient, token: str) -> None:
    marker = uuid.uuid4().hex[:8]
    posted = await client.post(MESSAGES, json=card_message(marker), headers=bearer(token))
    assert posted.status_code == 201, posted.text
    root = posted.json()
    assert root["replyToId"] is None and root["attachments"][0]["id"] == "a1"
    replies = f"{MESSAGES}/{root['id']}/replies"
    reply = await client.post(replies, json={"body": {"content": f"{marker} reply"}}, headers=bearer(token))
    assert reply.status_code == 201 and reply.json()["replyToId"] == root["id"]
    deeper = f"{MESSAGES}/{reply.json()['id']}/replies"
    nested = await client.post(deeper, json={"body": {"content": f"{marker} nested"}}, headers=bearer(token))
    assert nested.status_code == 201 and nested.json()["replyToId"] == root["id"]  # replies join the thread
    kept = [
        m for m in await received(client) if m["id"] in (root["id"], reply.json()["id"], nested.json()["id"])
    ]
    assert [m["thread"] for m in kept] == [None, root["id"], root["id"]]
    assert kept[0]["cards"] == [
        {"title": marker, "subtitle": "", "texts": ["Printer on fire"], "fields": [["Status", "open"]],
         "links": [["Open ticket", "https://tms.test/t/7"]]}
    ]  # fmt: skip
    missing = await client.post(
        f"{MESSAGES}/999/replies", json={"body": {"content": "x"}}, headers=bearer(token)
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NotFound"


async def test_bearer_token_is_checked(client: httpx.AsyncClient) -> None:
    payload = {"body": {"content": "hi"}}
    empty = await client.post(MESSAGES, json=payload)
    assert empty.status_code == 401 and empty.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert "www-authenticate" in empty.headers
    wrong = await client.post(MESSAGES, json=payload, headers=bearer("not-a-token"))
    assert wrong.status_code == 401
    other = f"{GRAPH}/teams/{SUPPORT.id}/channels/{quote(world.FABRIKAM.teams[0].channels[0].id)}/messages"
    assert (await client.post(other + "/1/replies", json=payload)).status_code == 401


@pytest.mark.parametrize(
    "payload",
    [
        card_message("x") | {"body": {"contentType": "html", "content": "no reference"}},
        card_message("x") | {"body": {"contentType": "html", "content": '<attachment id="zz"></attachment>'}},
        card_message("x") | {"attachments": {"id": "a1"}},
        {"body": {"contentType": "html", "content": '<attachment id="a1"></attachment>'},
         "attachments": [{"id": "a1", "contentType": "application/vnd.microsoft.card.adaptive",
                          "content": {"type": "AdaptiveCard", "body": []}}]},
        {"body": {"contentType": "html", "content": '<attachment id="a1"></attachment>'},
         "attachments": [{"id": "a1", "contentType": "application/vnd.microsoft.card.adaptive",
                          "content": json.dumps({"type": "Card"})}]},
    ],
)  # fmt: skip
async def test_attachment_validation(client: httpx.AsyncClient, token: str, payload: dict[str, Any]) -> None:
    before = len((await client.get(INSPECT)).json()["deliveries"])
    response = await client.post(MESSAGES, json=payload, headers=bearer(token))
    assert response.status_code == 400 and response.json()["error"]["code"] == "BadRequest"
    assert len((await client.get(INSPECT)).json()["deliveries"]) == before


async def test_message_faults(client: httpx.AsyncClient, token: str) -> None:
    marker = uuid.uuid4().hex[:8]
    try:
        await client.put("/sandbox/msteams/_fault", json={"mode": "rate_limited", "target": "messages"})
        limited = await client.post(MESSAGES, json={"body": {"content": marker}}, headers=bearer(token))
        assert limited.status_code == 429 and limited.json()["error"]["code"] == "TooManyRequests"
        assert (await client.get(f"{GRAPH}/me/joinedTeams", headers=bearer(token))).status_code == 200
        await client.put("/sandbox/msteams/_fault", json={"mode": "auth_error", "target": "messages"})
        expired = await client.post(MESSAGES, json={"body": {"content": marker}}, headers=bearer(token))
        assert expired.status_code == 401 and expired.json()["error"]["code"] == "InvalidAuthenticationToken"
    finally:
        await client.delete("/sandbox/msteams/_fault")
    assert not [m for m in await received(client) if m["text"] == marker]


async def test_channel_page_shows_text_of_html_and_cards_escaped(
    client: httpx.AsyncClient, token: str
) -> None:
    html_body = {
        "body": {"contentType": "html", "content": "<p>Ticket <b>#9</b></p><script>alert(1)</script>"}
    }
    assert (await client.post(MESSAGES, json=html_body, headers=bearer(token))).status_code == 201
    card = card_message("<img src=x onerror=alert(1)>", "b2")
    assert (await client.post(MESSAGES, json=card, headers=bearer(token))).status_code == 201
    page = await client.get(f"/sandbox/msteams/channels/{quote(INBOX_ID, safe='')}")
    assert page.status_code == 200
    assert "Ticket #9" in page.text and "<script>" not in page.text and "<b>#9" not in page.text
    assert "<img" not in page.text and "<h3>&lt;img src=x onerror=alert(1)&gt;</h3>" in page.text
    assert "<dt>Status</dt><dd>open</dd>" in page.text
    index = await client.get("/sandbox/channels")
    assert f"{SUPPORT.display_name} / {CHANNEL.display_name}" in index.text
