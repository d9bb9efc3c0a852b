"""Telegram `sendMessage` as delivery uses it: `parse_mode=HTML` and its parse errors, replies with
`reply_parameters` / `reply_to_message_id`, a kicked bot, 429 with `parameters.retry_after`, and the channel
page (PROVIDERS.md §5.2, §5.6, §5.7)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sandbox import SandboxApp, create_sandbox_router
from tests.integration.sandbox.test_telegram_sandbox import CANARY, add_to_chat, call, new_bot

CHAT = {"id": -1001900000077, "title": "Delivery <Desk>", "type": "supergroup"}
INSPECT = "/sandbox/telegram/_inspect"


@pytest.fixture(scope="module")
async def client(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    sandbox_app = SandboxApp("telegram", "", "http://console.test/api/public/integrations/telegram/callback")
    app.include_router(
        create_sandbox_router(redis_url=redis_url, apps={"telegram": sandbox_app}, canary=CANARY)
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test"
    ) as http:
        yield http


@pytest.fixture(scope="module")
async def bot(client: httpx.AsyncClient) -> str:
    token = await new_bot(client)
    await add_to_chat(client, token, CHAT)
    return token


async def received(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    channels = (await http.get(INSPECT)).json()["channels"]
    return next(c["messages"] for c in channels if c["id"] == str(CHAT["id"]))


async def test_html_message_and_replies(client: httpx.AsyncClient, bot: str) -> None:
    marker = uuid.uuid4().hex[:8]
    text = f'<b>Ticket #7</b> {marker} &lt;3 <a href="https://tms.test/t/7">open</a>'
    sent = await call(client, bot, "sendMessage", chat_id=CHAT["id"], text=text, parse_mode="HTML")
    assert sent.status_code == 200, sent.text
    root = sent.json()["result"]
    assert root["text"] == f"Ticket #7 {marker} <3 open"
    assert root["entities"] == [
        {"offset": 0, "length": 9, "type": "bold"},
        {
            "offset": len(f"Ticket #7 {marker} <3 "),
            "length": 4,
            "type": "text_link",
            "url": "https://tms.test/t/7",
        },
    ]
    modern = {"message_id": root["message_id"]}
    reply = await call(
        client, bot, "sendMessage", chat_id=CHAT["id"], text=f"{marker} r1", reply_parameters=modern
    )
    assert reply.json()["result"]["reply_to_message"]["message_id"] == root["message_id"]
    legacy = {"reply_to_message_id": str(reply.json()["result"]["message_id"])}
    nested = await client.post(
        f"/sandbox/telegram/bot{bot}/sendMessage",
        data={"chat_id": str(CHAT["id"]), "text": f"{marker} r2"} | legacy,
    )
    assert nested.status_code == 200, nested.text
    kept = [m for m in await received(client) if marker in m["text"]]
    assert [m["thread"] for m in kept] == [None, str(root["message_id"]), str(root["message_id"])]
    assert kept[0]["format"] == "telegram_html" and kept[0]["text"] == text


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("é <foo@bar.com> x", 'Unsupported start tag "foo@bar.com" at byte offset 3'),
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i></b>", "Unexpected end tag at byte offset 4"),
        ("a < b > c", 'Unsupported start tag " b " at byte offset 2'),
        ('<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("x <b", "Unclosed start tag at byte offset 2"),
    ],
)
async def test_html_parse_errors(client: httpx.AsyncClient, bot: str, text: str, description: str) -> None:
    response = await call(client, bot, "sendMessage", chat_id=CHAT["id"], text=text, parse_mode="HTML")
    assert response.status_code == 400
    assert response.json() == {
        "ok": False, "error_code": 400, "description": f"Bad Request: can't parse entities: {description}"
    }  # fmt: skip


async def test_other_refusals(client: httpx.AsyncClient, bot: str) -> None:
    def send(**params: Any) -> Any:
        return call(client, bot, "sendMessage", chat_id=CHAT["id"], **params)

    missing = await send(text="x", reply_parameters={"message_id": 999999})
    assert missing.json()["description"] == "Bad Request: message to be replied not found"
    allowed = await send(
        text="x", reply_parameters={"message_id": 999999, "allow_sending_without_reply": True}
    )
    assert allowed.status_code == 200 and "reply_to_message" not in allowed.json()["result"]
    long = await send(text="<b>" + "x" * 4096 + "</b>", parse_mode="HTML")  # 4096 after the markup is gone
    assert long.status_code == 200
    assert (await send(text="x" * 4097)).json()["description"] == "Bad Request: message is too long"
    assert (await send(text="<b> </b>", parse_mode="HTML")).json()[
        "description"
    ] == "Bad Request: message text is empty"
    bogus = await call(
        client, bot[:-1] + ("A" if bot[-1] != "A" else "B"), "sendMessage", chat_id=CHAT["id"], text="x"
    )
    assert bogus.status_code == 401 and bogus.json()["description"] == "Unauthorized"


async def test_kicked_bot_and_faults(client: httpx.AsyncClient) -> None:
    token = await new_bot(client)
    chat = CHAT | {"id": -1001900000078, "type": "group", "title": "Gone"}
    await add_to_chat(client, token, chat)
    try:
        await client.put("/sandbox/telegram/_fault", json={"mode": "rate_limited", "target": "messages"})
        limited = await call(client, token, "sendMessage", chat_id=chat["id"], text="x")
        assert limited.status_code == 429 and limited.json()["parameters"] == {"retry_after": 30}
        assert (await call(client, token, "getMe")).status_code == 200  # only sendMessage is hit
    finally:
        await client.delete("/sandbox/telegram/_fault")
    await add_to_chat(client, token, chat, status="kicked")
    kicked = await call(client, token, "sendMessage", chat_id=chat["id"], text="x")
    assert kicked.status_code == 403
    assert kicked.json()["description"] == "Forbidden: bot was kicked from the group chat"
    channels = (await client.get(INSPECT)).json()["channels"]
    assert str(chat["id"]) not in [c["id"] for c in channels]  # nothing ever arrived there


async def test_channel_page_renders_html_safely(client: httpx.AsyncClient, bot: str) -> None:
    text = '<b>bold</b> &lt;script&gt;x&lt;/script&gt; <a href="javascript:alert(1)">bad</a>'
    text += " <code>&lt;i&gt;</code>"
    assert (
        await call(client, bot, "sendMessage", chat_id=CHAT["id"], text=text, parse_mode="HTML")
    ).status_code == 200
    page = (await client.get(f"/sandbox/telegram/channels/{CHAT['id']}")).text
    assert "<b>bold</b>" in page and "&lt;script&gt;x&lt;/script&gt;" in page and "<script>" not in page
    assert "javascript:" not in page and '<a class="dead">bad</a>' in page
    assert "<code>&lt;i&gt;</code>" in page and "<h1>Delivery &lt;Desk&gt;</h1>" in page
