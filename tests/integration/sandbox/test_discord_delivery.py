"""Discord's execute-webhook as delivery uses it: `?wait=true`, embeds and their limits, `allowed_mentions`,
threads (`?thread_id=`), 401/404 for a bad or deleted webhook, message faults, and the channel page
(PROVIDERS.md §1.8, §1.10)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from sandbox import sandbox_bot_token
from tests.integration.sandbox.test_discord_sandbox import CANARY, INSPECT, install, make_client

GENERAL = "1180000000000000112"  # the channel the consent page preselects for the webhook
EMBED = {
    "title": "Ticket #42 created",
    "url": "https://tms.test/t/42",
    "description": "Printer on fire",
    "author": {"name": "Ada"},
    "fields": [{"name": "Status", "value": "open"}, {"name": "Priority", "value": "high"}],
    "footer": {"text": "TMS"},
}


@pytest.fixture(scope="module")
async def client(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for http in make_client(redis_url):
        yield http


@pytest.fixture(scope="module")
async def hook(client: httpx.AsyncClient) -> str:
    return urlsplit((await install(client))["webhook"]["url"]).path


async def received(http: httpx.AsyncClient, channel_id: str, text: str) -> list[dict[str, Any]]:
    channels = (await http.get(INSPECT)).json()["channels"]
    return [m for c in channels if c["id"] == channel_id for m in c["messages"] if m["text"].startswith(text)]


async def test_execute_with_wait_answers_the_message_and_keeps_the_embed(
    client: httpx.AsyncClient, hook: str
) -> None:
    marker = uuid.uuid4().hex[:8]
    body = {"content": f"{marker} @everyone", "embeds": [EMBED], "allowed_mentions": {"parse": []}}
    response = await client.post(hook, params={"wait": "true"}, json=body)
    assert response.status_code == 200, response.text
    message = response.json()
    assert message["channel_id"] == GENERAL and message["embeds"] == [EMBED]
    assert message["mention_everyone"] is False and message["webhook_id"] in hook
    assert (await client.post(hook, json={"content": f"{marker} plain"})).status_code == 204
    kept = await received(client, GENERAL, marker)
    assert [m["mentions"] for m in kept] == [[], []]
    card = kept[0]["cards"][0]
    assert card["title"] == "Ticket #42 created" and card["subtitle"] == "Ada"
    assert card["fields"] == [["Status", "open"], ["Priority", "high"]] and card["texts"] == [
        "Printer on fire",
        "TMS",
    ]
    pinged = await client.post(hook, params={"wait": "true"}, json={"content": f"{marker} @here"})
    assert pinged.json()["mention_everyone"] is True  # no allowed_mentions: Discord parses everything
    assert (await received(client, GENERAL, marker))[-1]["mentions"] == ["@here"]


async def test_threads_started_from_a_message(client: httpx.AsyncClient, hook: str) -> None:
    marker = uuid.uuid4().hex[:8]
    root = (await client.post(hook, params={"wait": "true"}, json={"content": marker})).json()
    bot = {"Authorization": f"Bot {sandbox_bot_token(CANARY)}"}
    path = f"/sandbox/discord/api/v10/channels/{GENERAL}/messages/{root['id']}/threads"
    assert (await client.post(path, json={"name": "Ticket #42"})).status_code == 401
    thread = await client.post(path, json={"name": "Ticket #42"}, headers=bot)
    assert thread.status_code == 201 and thread.json()["id"] == root["id"] and thread.json()["type"] == 11
    assert (await client.post(path, json={"name": "again"}, headers=bot)).json()["code"] == 160004
    reply = await client.post(
        hook, params={"wait": "true", "thread_id": root["id"]}, json={"content": f"{marker} r"}
    )
    assert reply.status_code == 200 and reply.json()["channel_id"] == root["id"]
    unknown = await client.post(hook, params={"thread_id": "1234"}, json={"content": "x"})
    assert unknown.status_code == 404 and unknown.json() == {"message": "Unknown Channel", "code": 10003}
    assert [m["thread"] for m in await received(client, GENERAL, marker)] == [None, root["id"]]


async def test_bad_or_deleted_webhook(client: httpx.AsyncClient) -> None:
    path = urlsplit((await install(client))["webhook"]["url"]).path
    wrong = await client.post(path + "x", json={"content": "hi"})
    assert wrong.status_code == 401 and wrong.json() == {"message": "Invalid Webhook Token", "code": 50027}
    assert (await client.delete(path)).status_code == 204
    gone = await client.post(path, json={"content": "hi"})
    assert gone.status_code == 404 and gone.json() == {"message": "Unknown Webhook", "code": 10015}


TOO_LONG, FIELD = "BASE_TYPE_MAX_LENGTH", {"name": "n", "value": "v"}


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"embeds": [EMBED | {"title": "x" * 257}]}, {"embeds": {"0": {"title": TOO_LONG}}}),
        ({"embeds": [EMBED | {"description": "x" * 4097}]}, {"embeds": {"0": {"description": TOO_LONG}}}),
        ({"embeds": [{"fields": [FIELD] * 26}]}, {"embeds": {"0": {"fields": TOO_LONG}}}),
        ({"embeds": [{"fields": [FIELD | {"value": "v" * 1025}]}]},
         {"embeds": {"0": {"fields": {"0": {"value": TOO_LONG}}}}}),
        ({"embeds": [{"fields": [{"name": "n"}]}]},
         {"embeds": {"0": {"fields": {"0": {"value": "BASE_TYPE_REQUIRED"}}}}}),
        ({"embeds": [{"description": "x" * 4000}, {"description": "x" * 2001}]},
         {"embeds": "MAX_EMBED_SIZE_EXCEEDED"}),
        ({"embeds": [EMBED] * 11}, {"embeds": TOO_LONG}),
        ({"content": "x", "allowed_mentions": {"parse": ["all"]}},
         {"allowed_mentions": {"parse": "BASE_TYPE_CHOICES"}}),
    ],
)  # fmt: skip
async def test_embed_limits(
    client: httpx.AsyncClient, hook: str, body: dict[str, Any], errors: dict[str, Any]
) -> None:
    response = await client.post(hook, json=body)
    assert response.status_code == 400 and response.json()["code"] == 50035
    assert _codes(response.json()["errors"]) == errors


def _codes(errors: dict[str, Any]) -> Any:
    if "_errors" in errors:
        return errors["_errors"][0]["code"]
    return {key: _codes(value) for key, value in errors.items()}


async def test_message_faults(client: httpx.AsyncClient, hook: str) -> None:
    marker = uuid.uuid4().hex[:8]
    try:
        await client.put(
            "/sandbox/discord/_fault", json={"mode": "status", "status": 502, "target": "messages"}
        )
        assert (await client.post(hook, json={"content": marker})).status_code == 502
        await client.put("/sandbox/discord/_fault", json={"mode": "rate_limited", "target": "api"})
        limited = await client.post(hook, json={"content": marker})
        assert limited.status_code == 429 and limited.json()["retry_after"] == 1.5
        await client.put("/sandbox/discord/_fault", json={"mode": "auth_error", "target": "messages"})
        gone = await client.post(hook, json={"content": marker})
        assert gone.status_code == 404 and gone.json()["code"] == 10015
        await client.put("/sandbox/discord/_fault", json={"mode": "malformed_json", "target": "messages"})
        mangled = await client.post(hook, params={"wait": "true"}, json={"content": marker})
        assert mangled.status_code == 200  # the message arrived; only the answer is broken
    finally:
        await client.delete("/sandbox/discord/_fault")
    assert len(await received(client, GENERAL, marker)) == 1


async def test_channel_page_escapes_and_marks_pings(client: httpx.AsyncClient, hook: str) -> None:
    content = "<img src=x onerror=alert(1)> [click](https://evil.test) @everyone"
    hostile = EMBED | {"title": "<script>x</script>", "fields": [{"name": "<i>n</i>", "value": "<b>v</b>"}]}
    assert (await client.post(hook, json={"content": content, "embeds": [hostile]})).status_code == 204
    page = (await client.get(f"/sandbox/discord/channels/{GENERAL}")).text
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "<dt>&lt;i&gt;n&lt;/i&gt;</dt><dd>&lt;b&gt;v&lt;/b&gt;</dd>" in page
    assert 'href="https://evil.test" title="https://evil.test"' in page and ">click</a>" in page
    assert '<div class="notifies">Notifies: <span class="mention">@everyone</span></div>' in page
