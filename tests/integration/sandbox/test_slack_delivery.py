"""Slack's message endpoints as delivery uses them: chat.postMessage (threads, Block Kit) and the incoming
webhook, what the channel keeps, the channel page, and the message faults (PROVIDERS.md §2.8, §2.10)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.integration.sandbox.test_slack_sandbox import API, APP, INSPECT, bearer, install, make_client

POST = f"{API}/chat.postMessage"
ALERTS = "C0SBX0001"  # #support-alerts: the sandbox bot is a member
HOSTILE = "<script>alert(1)</script> <!channel> <https://evil.test|click> &amp;"


@pytest.fixture(scope="module")
async def client(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for http in make_client(redis_url, APP):
        yield http


@pytest.fixture(scope="module")
async def installed(client: httpx.AsyncClient) -> dict[str, Any]:
    return await install(client)


def blocks(marker: str) -> list[dict[str, Any]]:
    return [
        {"type": "header", "text": {"type": "plain_text", "text": f"Ticket {marker}"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Printer* on fire"},
         "fields": [{"type": "mrkdwn", "text": "*Status*\nopen"},
                    {"type": "mrkdwn", "text": "*Priority*\nhigh"}]},
        {"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Open"}, "url": "https://tms.test/t/1"}]},
    ]  # fmt: skip


async def channel(http: httpx.AsyncClient, channel_id: str) -> dict[str, Any]:
    inspected = (await http.get(INSPECT)).json()
    return next(c for c in inspected["channels"] if c["id"] == channel_id)


async def test_post_message_threads_and_keeps_cards(
    client: httpx.AsyncClient, installed: dict[str, Any]
) -> None:
    marker = uuid.uuid4().hex[:8]
    headers = bearer(installed["access_token"])
    first = await client.post(
        POST, json={"channel": ALERTS, "text": marker, "blocks": blocks(marker)}, headers=headers
    )
    assert first.status_code == 200 and first.json()["ok"] is True, first.text
    root = first.json()["ts"]
    form = {
        "channel": ALERTS,
        "text": f"{marker} reply",
        "thread_ts": root,
        "blocks": json.dumps(blocks(marker)),
    }
    reply = (await client.post(POST, data=form, headers=headers)).json()
    assert reply["ok"] is True and reply["message"]["thread_ts"] == root
    nested = {"channel": ALERTS, "text": f"{marker} nested", "thread_ts": reply["ts"]}
    assert (await client.post(POST, json=nested, headers=headers)).json()["message"]["thread_ts"] == root
    received = [m for m in (await channel(client, ALERTS))["messages"] if m["text"].startswith(marker)]
    assert [m["thread"] for m in received] == [None, root, root]  # a reply to a reply joins the first thread
    assert [m["id"] for m in received[:2]] == [root, reply["ts"]]
    card = received[0]["cards"][0]
    assert card["title"] == f"Ticket {marker}" and card["texts"] == ["*Printer* on fire"]
    assert card["fields"] == [["Status", "open"], ["Priority", "high"]]
    assert card["links"] == [["Open", "https://tms.test/t/1"]] and received[0]["via"] == "api"


async def test_post_message_auth_failures(client: httpx.AsyncClient) -> None:
    token = (await install(client))["access_token"]
    body = {"channel": ALERTS, "text": "hi"}
    assert (await client.post(POST, json=body)).json() == {"ok": False, "error": "not_authed"}
    assert (await client.post(POST, json=body, headers=bearer("xoxb-nope"))).json()["error"] == "invalid_auth"
    assert (await client.post(f"{API}/auth.revoke", headers=bearer(token))).json()["revoked"] is True
    revoked = await client.post(POST, json=body, headers=bearer(token))
    assert revoked.status_code == 200 and revoked.json() == {"ok": False, "error": "token_revoked"}


@pytest.mark.parametrize(
    ("extra", "error", "pointer"),
    [
        (
            {"blocks": [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}]},
            "invalid_blocks",
            "/blocks/0/text/text",
        ),
        (
            {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]},
            "invalid_blocks",
            "/blocks/0/text/text",
        ),
        ({"blocks": [{"type": "section"}]}, "invalid_blocks", "/blocks/0"),
        ({"blocks": [{"type": "nope"}]}, "invalid_blocks", "/blocks/0/type"),
        ({"blocks": [{"type": "divider"}] * 51}, "invalid_blocks", ""),
        ({"blocks": {"type": "divider"}}, "invalid_blocks_format", None),
        ({"blocks": "[not json"}, "invalid_blocks_format", None),
        ({"thread_ts": "yesterday"}, "invalid_thread_ts", None),
        ({"text": "x" * 40001}, "msg_too_long", None),
    ],
)
async def test_post_message_validation(
    client: httpx.AsyncClient,
    installed: dict[str, Any],
    extra: dict[str, Any],
    error: str,
    pointer: str | None,
) -> None:
    before = len((await client.get(INSPECT)).json()["deliveries"])
    response = await client.post(
        POST, json={"channel": ALERTS, "text": "t"} | extra, headers=bearer(installed["access_token"])
    )
    body = response.json()
    assert response.status_code == 200 and body["ok"] is False and body["error"] == error
    if pointer is not None:
        assert any(f"[json-pointer:{pointer}]" in m for m in body["response_metadata"]["messages"])
    assert len((await client.get(INSPECT)).json()["deliveries"]) == before  # nothing was posted


async def test_incoming_webhook_fills_the_channel(
    client: httpx.AsyncClient, installed: dict[str, Any]
) -> None:
    path = urlsplit(installed["incoming_webhook"]["url"]).path
    marker = uuid.uuid4().hex[:8]
    assert (await client.post(path, json={"text": marker, "blocks": blocks(marker)})).text == "ok"
    bad = await client.post(path, json={"text": "x", "blocks": [{"type": "header"}]})
    assert (bad.status_code, bad.text) == (400, "invalid_blocks")
    received = [m for m in (await channel(client, ALERTS))["messages"] if m["text"] == marker]
    assert len(received) == 1 and received[0]["via"] == "webhook" and received[0]["cards"][0]["fields"]


async def test_message_faults_refuse_before_anything_is_received(
    client: httpx.AsyncClient, installed: dict[str, Any]
) -> None:
    headers = bearer(installed["access_token"])
    marker = uuid.uuid4().hex[:8]
    attempts = (await client.get(INSPECT)).json()["message_attempts"]
    await client.put("/sandbox/slack/_fault", json={"mode": "rate_limited", "target": "messages"})
    try:
        limited = await client.post(POST, json={"channel": ALERTS, "text": marker}, headers=headers)
        assert limited.status_code == 429 and limited.headers["retry-after"] == "30"
        assert limited.json() == {"ok": False, "error": "ratelimited"}
        assert (await client.post(f"{API}/auth.test", headers=headers)).json()["ok"] is True  # only messages
        await client.put("/sandbox/slack/_fault", json={"mode": "auth_error", "target": "messages"})
        revoked = await client.post(POST, json={"channel": ALERTS, "text": marker}, headers=headers)
        assert revoked.json() == {"ok": False, "error": "invalid_auth"}
    finally:
        await client.delete("/sandbox/slack/_fault")
    inspected = (await client.get(INSPECT)).json()
    assert inspected["message_attempts"] == attempts + 2
    assert not [m for c in inspected["channels"] for m in c["messages"] if m["text"] == marker]


async def test_channel_page_shows_the_thread_escaped(
    client: httpx.AsyncClient, installed: dict[str, Any]
) -> None:
    headers = bearer(installed["access_token"])
    root = (
        await client.post(
            POST, json={"channel": ALERTS, "text": HOSTILE, "blocks": blocks("<b>x</b>")}, headers=headers
        )
    ).json()
    reply = {"channel": ALERTS, "text": "reply <@U0SBXUSR01>", "thread_ts": root["ts"]}
    assert (await client.post(POST, json=reply, headers=headers)).json()["ok"] is True
    page = await client.get(f"/sandbox/slack/channels/{ALERTS}")
    assert page.status_code == 200 and page.headers["refresh"] == "2"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    html = page.text
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>x</b>" not in html and "Ticket &lt;b&gt;x&lt;/b&gt;" in html
    assert '<span class="mention">@channel</span>' in html
    assert 'href="https://evil.test"' in html and 'title="https://evil.test"' in html  # the real target shows
    thread = html[html.index(f'id="m-{root["ts"]}"') :]
    assert thread.index('class="replies"') < thread.index("reply ")
    index = await client.get("/sandbox/slack/channels")
    assert 'href="/sandbox/slack/channels/C0SBX0001"' in index.text and "#support-alerts" in index.text
    assert (await client.get("/sandbox/slack/channels/C0NOPE")).status_code == 404


async def test_hang_on_messages_is_bounded_and_receives_nothing(
    client: httpx.AsyncClient, installed: dict[str, Any]
) -> None:
    marker = uuid.uuid4().hex[:8]
    await client.put("/sandbox/slack/_fault", json={"mode": "hang", "seconds": 0.3, "target": "messages"})
    try:
        body = {"channel": ALERTS, "text": marker}
        hung = await client.post(POST, json=body, headers=bearer(installed["access_token"]), timeout=5)
        assert hung.status_code == 504  # the sandbox gave up after `seconds`; a console times out first
    finally:
        await client.delete("/sandbox/slack/_fault")
    assert not [m for m in (await channel(client, ALERTS))["messages"] if m["text"] == marker]
