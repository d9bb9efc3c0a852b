"""The sandbox's channel pages over the whole app (`sandbox.create_app`): the index of every channel that
received a message, per-provider lists, escaping of what platforms and senders named, and `_inspect`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx
import pytest

from sandbox import create_app
from tests.integration.sandbox.test_telegram_sandbox import add_to_chat, call, new_bot

CANARY = "CANARYpages7a2b"
HOSTILE_TITLE = '"><script>alert(1)</script>'


@pytest.fixture(scope="module")
async def client(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(redis_url=redis_url, console_url="http://console.test", canary=CANARY)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test"
    ) as http:
        yield http


async def test_index_lists_channels_of_every_provider_escaped(client: httpx.AsyncClient) -> None:
    endpoint = f"pages-{uuid.uuid4().hex[:8]}"
    received = await client.post(f"/sandbox/webhook/receive/{endpoint}", json={"text": "<b>hi</b>"})
    assert received.status_code == 200
    bot = await new_bot(client)
    chat = {"id": -1001900000099, "title": HOSTILE_TITLE, "type": "supergroup"}
    await add_to_chat(client, bot, chat)
    assert (await call(client, bot, "sendMessage", chat_id=chat["id"], text="hello")).status_code == 200
    index = await client.get("/sandbox/channels")
    assert index.status_code == 200 and index.headers["refresh"] == "2"
    assert index.headers["x-frame-options"] == "DENY" and index.headers["cache-control"] == "no-store"
    page = index.text
    assert "<h2>webhook</h2>" in page and "<h2>telegram</h2>" in page
    assert f'href="/sandbox/webhook/channels/{endpoint}"' in page
    assert f'href="/sandbox/telegram/channels/{quote(str(chat["id"]))}"' in page
    assert "<script>" not in page and "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    only_webhook = (await client.get("/sandbox/webhook/channels")).text
    assert endpoint in only_webhook and "<h2>telegram</h2>" not in only_webhook


async def test_webhook_channel_shows_the_body_and_status(client: httpx.AsyncClient) -> None:
    endpoint = f"pages-{uuid.uuid4().hex[:8]}"
    body = '{"subject": "<img src=x onerror=alert(1)>"}'
    headers = {"content-type": "application/json", "webhook-id": "msg_1", "webhook-timestamp": "1700000000"}
    response = await client.post(
        f"/sandbox/webhook/receive/{endpoint}?status=410", content=body, headers=headers
    )
    assert response.status_code == 410
    page = (await client.get(f"/sandbox/webhook/channels/{endpoint}")).text
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page and "answered 410" in page
    record = (await client.get("/sandbox/webhook/_inspect")).json()["deliveries"][-1]
    assert (
        record["headers"]["webhook-id"] == "msg_1" and record["headers"]["webhook-timestamp"] == "1700000000"
    )


async def test_unknown_channels_and_inspect(client: httpx.AsyncClient) -> None:
    for path in (
        "/sandbox/slack/channels/C0NOPE",
        "/sandbox/telegram/channels/-1",
        "/sandbox/webhook/channels/x/y",
    ):
        missing = await client.get(path)
        assert missing.status_code == 404 and "No message has arrived" in missing.text
    inspected = (await client.get("/sandbox/telegram/_inspect")).json()
    assert {"token_exchanges", "revocations", "message_attempts", "deliveries", "channels"} <= set(inspected)
    assert CANARY not in str(inspected)
