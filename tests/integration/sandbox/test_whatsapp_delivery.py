"""WhatsApp Cloud API template messages as delivery uses them: the approved template, its language and
parameters, quoted replies, token errors, message faults, and the conversation page (PROVIDERS.md §6.5,
§6.8)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.integration.sandbox.test_whatsapp_sandbox import (
    GRAPH,
    INSPECT,
    SUPPORT_PHONE,
    bearer,
    graph_error,
    install,
    make_client,
)

URL = f"{GRAPH}/{SUPPORT_PHONE}/messages"
TO = "15551230077"


def template(*values: str, name: str = "ticket_update", language: str = "en_US") -> dict[str, Any]:
    parameters = [{"type": "text", "text": value} for value in values]
    content = {"name": name, "language": {"code": language}}
    content["components"] = [{"type": "body", "parameters": parameters}]
    return {"messaging_product": "whatsapp", "to": TO, "type": "template", "template": content}


@pytest.fixture(scope="module")
async def client(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for http in make_client(redis_url):
        yield http


@pytest.fixture(scope="module")
async def token(client: httpx.AsyncClient) -> str:
    return (await install(client))[0]


async def received(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    channels = (await http.get(INSPECT)).json()["channels"]
    return next(c["messages"] for c in channels if c["id"] == f"{SUPPORT_PHONE}:{TO}")


async def test_template_message_and_a_quoted_reply(client: httpx.AsyncClient, token: str) -> None:
    marker = uuid.uuid4().hex[:8]
    sent = await client.post(URL, json=template("#77", marker, "open"), headers=bearer(token))
    assert sent.status_code == 200, sent.text
    first = sent.json()["messages"][0]
    assert first["message_status"] == "accepted" and first["id"].startswith("wamid.")
    reply = template("#77", f"{marker} again", "solved") | {"context": {"message_id": first["id"]}}
    second = await client.post(URL, json=reply, headers=bearer(token))
    assert second.status_code == 200, second.text
    kept = [m for m in await received(client) if marker in m["cards"][0]["texts"][0]]
    assert [m["thread"] for m in kept] == [None, first["id"]]
    assert kept[0]["cards"][0]["texts"] == [f"Ticket #77: {marker}\nStatus: open"]
    assert kept[0]["cards"][0]["subtitle"] == "ticket_update (en_US)"
    stranger = template("#1", "x", "y") | {"context": {"message_id": "wamid.unknown"}}
    graph_error(await client.post(URL, json=stranger, headers=bearer(token)), 400, 100)


@pytest.mark.parametrize(
    ("payload", "code", "details"),
    [
        (
            template("a", name="ticket_missing"),
            132001,
            "template name (ticket_missing) does not exist in en_US",
        ),
        (
            template("a", "b", "c", language="fr"),
            132001,
            "template name (ticket_update) does not exist in fr",
        ),
        (template("a", "b"), 132000, "body: number of localizable_params (2) does not match"),
        (template("a", "two\nlines", "c"), 100, "Param text cannot have new-line/tab characters"),
        (template("a", "b", "too     spaced"), 100, "more than 4 consecutive spaces"),
        (template("a", "b", "c") | {"template": {"name": "ticket_update", "language": {}}}, 100, None),
    ],
)
async def test_template_validation(
    client: httpx.AsyncClient, token: str, payload: dict[str, Any], code: int, details: str | None
) -> None:
    error = graph_error(await client.post(URL, json=payload, headers=bearer(token)), 400, code)
    if details is not None:
        assert details in error["error_data"]["details"]


async def test_parameter_format_and_components(client: httpx.AsyncClient, token: str) -> None:
    image = template("a", "b", "c")
    image["template"]["components"][0]["parameters"][0] = {
        "type": "image",
        "image": {"link": "https://x.test"},
    }
    graph_error(await client.post(URL, json=image, headers=bearer(token)), 400, 132012)
    unknown = template("a", "b", "c")
    unknown["template"]["components"].append({"type": "sidebar", "parameters": []})
    graph_error(await client.post(URL, json=unknown, headers=bearer(token)), 400, 100)
    hello = template(name="hello_world")
    hello["template"]["components"] = []
    assert (await client.post(URL, json=hello, headers=bearer(token))).status_code == 200


async def test_token_is_checked(client: httpx.AsyncClient) -> None:
    graph_error(await client.post(URL, json=template("a", "b", "c")), 401, 104)
    graph_error(await client.post(URL, json=template("a", "b", "c"), headers=bearer("EAAGnope")), 401, 190)


async def test_message_faults(client: httpx.AsyncClient, token: str) -> None:
    marker = uuid.uuid4().hex[:8]
    try:
        await client.put("/sandbox/whatsapp/_fault", json={"mode": "rate_limited", "target": "messages"})
        limited = await client.post(URL, json=template("a", marker, "c"), headers=bearer(token))
        assert limited.status_code == 400 and limited.json()["error"]["code"] == 80007
        await client.put("/sandbox/whatsapp/_fault", json={"mode": "auth_error", "target": "messages"})
        expired = await client.post(URL, json=template("a", marker, "c"), headers=bearer(token))
        assert expired.status_code == 401 and expired.json()["error"]["code"] == 190
    finally:
        await client.delete("/sandbox/whatsapp/_fault")
    assert not [m for m in await received(client) if marker in m["cards"][0]["texts"][0]]


async def test_conversation_page_escapes_parameters(client: httpx.AsyncClient, token: str) -> None:
    hostile = template("<script>alert(1)</script>", "<img src=x>", "open")
    assert (await client.post(URL, json=hostile, headers=bearer(token))).status_code == 200
    page = (await client.get(f"/sandbox/whatsapp/channels/{SUPPORT_PHONE}:{TO}")).text
    assert (
        "<script>" not in page and "Ticket &lt;script&gt;alert(1)&lt;/script&gt;: &lt;img src=x&gt;" in page
    )
    assert f"+{TO} (from " in page
