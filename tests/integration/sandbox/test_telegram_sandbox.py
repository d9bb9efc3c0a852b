"""The Telegram sandbox speaks the Bot API's wire format (PROVIDERS.md §5), state in real Redis.

Sandbox and webhook receiver share one uvicorn server on a free port, as the sandbox shares the
console's origin in production: updates go out over real HTTP to that origin.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import redis
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response

from sandbox import SandboxApp, create_sandbox_router
from sandbox.telegram import token_marker
from tests.utils.live import free_port

CANARY = "CANARYtelegram5d1e"
SECRET = "hook-Secret_0123456789"
TOKEN_RE = re.compile(r"[0-9]+:[A-Za-z0-9_-]{35}")
UNAUTHORIZED = {"ok": False, "error_code": 401, "description": "Unauthorized"}
NOT_FOUND = {"ok": False, "error_code": 404, "description": "Not Found"}
SUPPORT = {"id": -1001900000001, "title": "Acme Support HQ", "type": "supergroup", "username": "acme_support"}
ALERTS = {"id": -1001900000002, "title": "Acme Ticket Alerts", "type": "channel"}


class Receiver:
    """The webhook endpoint a console would run: records every POST, answers `status`."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    async def receive(self, request: Request, name: str) -> Response:
        call = {"path": request.url.path, "headers": dict(request.headers), "body": await request.body()}
        with self.lock:
            self.calls.append(call)
        return Response(status_code=403 if name == "refuse" else 200)

    def for_chat(self, chat_id: int) -> list[dict[str, Any]]:
        with self.lock:
            bodies = [(c, json.loads(c["body"])) for c in self.calls]
        return [c | {"json": b} for c, b in bodies if _chat_of(b) == chat_id]


def _chat_of(update: dict[str, Any]) -> int | None:
    event = update.get("my_chat_member") or update.get("message") or {}
    return event.get("chat", {}).get("id")


@pytest.fixture(scope="module")
def server(redis_url: str) -> Iterator[tuple[str, Receiver]]:
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    app = FastAPI()
    sandbox_app = SandboxApp("telegram", "", f"{origin}/api/public/integrations/telegram/callback")
    app.include_router(
        create_sandbox_router(redis_url=redis_url, apps={"telegram": sandbox_app}, canary=CANARY)
    )
    receiver = Receiver()
    app.add_api_route("/hooks/{name}", receiver.receive, methods=["POST"])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield origin, receiver
    uv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
async def client(server: tuple[str, Receiver]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server[0]) as http:
        yield http


@pytest.fixture
def origin(server: tuple[str, Receiver]) -> str:
    return server[0]


@pytest.fixture
def receiver(server: tuple[str, Receiver]) -> Receiver:
    return server[1]


async def new_bot(http: httpx.AsyncClient, name: str = "TMS Notifier") -> str:
    response = await http.post("/sandbox/telegram/botfather", data={"name": name})
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    match = re.search(r'<code id="bot-token">([^<]+)</code>', response.text)
    assert match is not None
    return match.group(1)


async def call(http: httpx.AsyncClient, token: str, method: str, **params: Any) -> httpx.Response:
    return await http.post(f"/sandbox/telegram/bot{token}/{method}", json=params)


async def add_to_chat(
    http: httpx.AsyncClient, token: str, chat: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    response = await http.post(
        "/sandbox/telegram/_add_to_chat", json={"bot_token": token, "chat": chat} | extra
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_botfather_mints_real_format_tokens_with_canary(
    client: httpx.AsyncClient, redis_url: str
) -> None:
    page = await client.get("/sandbox/telegram/botfather")
    assert page.status_code == 200 and 'id="newbot"' in page.text and "<script" not in page.text
    first, second = await new_bot(client), await new_bot(client, "<b>Evil</b> bot")
    for token in (first, second):
        assert TOKEN_RE.fullmatch(token) and CANARY in token.split(":")[1]
    assert first != second and first.split(":")[0] != second.split(":")[0]
    me = (await call(client, second, "getMe")).json()["result"]
    assert me["first_name"] == "<b>Evil</b> bot"
    created = await client.post("/sandbox/telegram/botfather", data={"name": "<b>x</b>"})
    assert "<b>x</b>" not in created.text and "&lt;b&gt;x&lt;/b&gt;" in created.text
    assert (await client.post("/sandbox/telegram/botfather", data={"name": ""})).status_code == 400
    store = redis.Redis.from_url(redis_url, decode_responses=True)
    for key in store.scan_iter("sandbox:telegram:*"):
        value = store.get(key) if store.type(key) == "string" else ""
        assert CANARY not in key and CANARY not in (value or ""), key
    store.close()


def test_a_canary_outside_the_token_alphabet_is_encoded() -> None:
    assert token_marker("CANARY_ok-1") == "CANARY_ok-1"
    assert token_marker("sbx!") == "c2J4IQ"
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token_marker("ça:va/=+"))


async def test_get_me_over_get_form_and_json(client: httpx.AsyncClient) -> None:
    token = await new_bot(client)
    path = f"/sandbox/telegram/bot{token}/getMe"
    for response in (
        await client.get(path),
        await client.post(path, data={}),
        await client.post(path, json={}),
        await client.get(f"/sandbox/telegram/bot{token}/getme"),  # method names are case-insensitive
    ):
        assert response.status_code == 200
        body = response.json()
        assert body["ok"] is True and set(body) == {"ok", "result"}
        assert body["result"] == {
            "id": int(token.split(":")[0]),
            "is_bot": True,
            "first_name": "TMS Notifier",
            "username": f"tms_sbx_{token.split(':')[0]}_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }


async def test_token_validation(client: httpx.AsyncClient) -> None:
    token = await new_bot(client)
    bot_id, secret = token.split(":")
    for bad in (f"{bot_id}:{secret[:-1]}x" if secret[-1] != "x" else f"{bot_id}:{secret[:-1]}y", "1:abc"):
        response = await client.get(f"/sandbox/telegram/bot{bad}/getMe")
        assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
    for path in (
        "botabc/getMe",
        "bot/getMe",
        f"bot{bot_id}/getMe",
        f"bot{token}!/getMe",
        f"bot{token}",
        f"bot{token}/",
        f"bot{token}/getMe/more",
        f"bot{token}/noSuchMethod",
    ):
        response = await client.get(f"/sandbox/telegram/{path}")
        assert (response.status_code, response.json()) == (404, NOT_FOUND), path


async def test_set_webhook_rules_and_info(client: httpx.AsyncClient, origin: str) -> None:
    token = await new_bot(client)
    info = await call(client, token, "getWebhookInfo")
    assert info.json() == {
        "ok": True,
        "result": {"url": "", "has_custom_certificate": False, "pending_update_count": 0},
    }
    for url, description in (
        ("http://127.0.0.1:1/hook", "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"),
        (
            origin.replace("http://", "ftp://") + "/hook",
            "Bad Request: bad webhook: An HTTPS URL must be provided for webhook",
        ),
        ("not a url", "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"),
        (
            "https://hooks.example.com:8080/tg",
            "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443",
        ),
        (
            "https://hooks.example.com:99999/tg",
            "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443",
        ),
        ("https:///tg", "Bad Request: bad webhook: Failed to resolve host: Name or service not known"),
    ):
        response = await call(client, token, "setWebhook", url=url)
        assert response.status_code == 400
        assert response.json() == {"ok": False, "error_code": 400, "description": description}
    for secret, description in (
        ("a" * 257, "Bad Request: secret token is too long"),
        ("abc+def/=", "Bad Request: secret token contains unallowed characters"),
        ("sécret", "Bad Request: secret token contains unallowed characters"),
    ):
        response = await call(
            client, token, "setWebhook", url="https://hooks.example.com/tg", secret_token=secret
        )
        assert (response.status_code, response.json()["description"]) == (400, description)
    bad_updates = await call(
        client, token, "setWebhook", url="https://hooks.example.com/tg", allowed_updates="x"
    )
    assert bad_updates.status_code == 400
    assert (await call(client, token, "getWebhookInfo")).json()["result"]["url"] == ""  # nothing was set

    form = {
        "url": "https://hooks.example.com:8443/tg",
        "secret_token": "A" * 256,
        "allowed_updates": '["message"]',
    }
    path = f"/sandbox/telegram/bot{token}/setWebhook"
    assert (await client.post(path, data=form)).json() == {
        "ok": True,
        "result": True,
        "description": "Webhook was set",
    }
    again = await client.get(path, params=form)
    assert again.json() == {"ok": True, "result": True, "description": "Webhook is already set"}
    result = (await call(client, token, "getWebhookInfo")).json()["result"]
    assert result == {
        "url": "https://hooks.example.com:8443/tg",
        "has_custom_certificate": False,
        "pending_update_count": 0,
        "max_connections": 40,
        "allowed_updates": ["message"],
    }
    assert "secret_token" not in json.dumps(result)
    own_origin = await call(client, token, "setWebhook", url=f"{origin}/hooks/ok", allowed_updates=[])
    assert own_origin.json()["description"] == "Webhook was set"
    assert (await call(client, token, "getWebhookInfo")).json()["result"]["allowed_updates"] == []
    deleted = await call(client, token, "deleteWebhook", drop_pending_updates=True)
    assert deleted.json() == {"ok": True, "result": True, "description": "Webhook was deleted"}
    again = await call(client, token, "setWebhook", url="")
    assert again.json() == {"ok": True, "result": True, "description": "Webhook is already deleted"}


async def test_get_updates_conflicts_with_a_webhook(client: httpx.AsyncClient, origin: str) -> None:
    token = await new_bot(client)
    assert (await call(client, token, "getUpdates")).json() == {"ok": True, "result": []}
    await call(client, token, "setWebhook", url=f"{origin}/hooks/ok")
    conflict = await call(client, token, "getUpdates")
    assert conflict.status_code == 409 and conflict.json()["error_code"] == 409
    assert conflict.json()["description"].startswith(
        "Conflict: can't use getUpdates method while webhook is active"
    )


async def test_update_is_delivered_with_the_secret_header(
    client: httpx.AsyncClient, origin: str, receiver: Receiver
) -> None:
    token = await new_bot(client)
    await call(client, token, "setWebhook", url=f"{origin}/hooks/ok", secret_token=SECRET)
    chat = SUPPORT | {"id": -1001900000101}
    result = await add_to_chat(client, token, chat)
    assert result["delivered"] is True and result["status_code"] == 200 and result["reason"] is None
    calls = receiver.for_chat(chat["id"])
    assert len(calls) == 1
    headers, update = calls[0]["headers"], calls[0]["json"]
    assert headers["x-telegram-bot-api-secret-token"] == SECRET
    assert headers["content-type"] == "application/json" and calls[0]["path"] == "/hooks/ok"
    assert update == result["update"] and set(update) == {"update_id", "my_chat_member"}
    event = update["my_chat_member"]
    assert event["chat"] == chat and event["from"]["is_bot"] is False
    bot_id = int(token.split(":")[0])
    assert event["old_chat_member"] == {"user": event["new_chat_member"]["user"], "status": "left"}
    assert event["new_chat_member"]["status"] == "member" and event["new_chat_member"]["user"]["id"] == bot_id

    channel = ALERTS | {"id": -1001900000102}
    second = await add_to_chat(client, token, channel)
    assert second["update"]["update_id"] == update["update_id"] + 1
    member = receiver.for_chat(channel["id"])[0]["json"]["my_chat_member"]["new_chat_member"]
    assert member["status"] == "administrator" and member["can_manage_chat"] is True


async def test_no_delivery_without_a_webhook_or_when_filtered(
    client: httpx.AsyncClient, origin: str, receiver: Receiver
) -> None:
    token = await new_bot(client)
    chat = SUPPORT | {"id": -1001900000201}
    result = await add_to_chat(client, token, chat)
    assert (result["delivered"], result["reason"]) == (False, "no_webhook")
    await call(client, token, "setWebhook", url=f"{origin}/hooks/ok", allowed_updates=["message"])
    filtered = await add_to_chat(client, token, chat | {"id": -1001900000202})
    assert (filtered["delivered"], filtered["reason"]) == (False, "not_allowed")
    await call(client, token, "deleteWebhook")
    after_delete = await add_to_chat(client, token, chat | {"id": -1001900000203})
    assert after_delete["reason"] == "no_webhook"
    for chat_id in (-1001900000201, -1001900000202, -1001900000203):
        assert receiver.for_chat(chat_id) == []


async def test_a_refusing_receiver_shows_in_webhook_info(client: httpx.AsyncClient, origin: str) -> None:
    token = await new_bot(client)
    await call(client, token, "setWebhook", url=f"{origin}/hooks/refuse", secret_token=SECRET)
    result = await add_to_chat(client, token, SUPPORT | {"id": -1001900000301})
    assert (result["delivered"], result["status_code"], result["reason"]) == (False, 403, "failed")
    info = (await call(client, token, "getWebhookInfo")).json()["result"]
    assert info["last_error_message"] == "Wrong response from the webhook: 403 Forbidden"
    assert isinstance(info["last_error_date"], int) and info["last_error_date"] > 0


async def test_send_message_success_and_errors(client: httpx.AsyncClient) -> None:
    token = await new_bot(client)
    chat = SUPPORT | {"id": -1001900000401, "username": "acme_tg_401"}
    missing = await call(client, token, "sendMessage", chat_id=chat["id"], text="hi")
    assert missing.status_code == 400
    assert missing.json() == {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
    await add_to_chat(client, token, chat)
    sent = await call(
        client, token, "sendMessage", chat_id=chat["id"], text="Ticket #123 created", parse_mode="HTML"
    )
    assert sent.status_code == 200
    message = sent.json()["result"]
    assert set(message) == {"message_id", "date", "chat", "from", "text"}
    assert message["chat"] == chat and message["text"] == "Ticket #123 created" and message["from"]["is_bot"]
    form = await client.post(
        f"/sandbox/telegram/bot{token}/sendMessage", data={"chat_id": str(chat["id"]), "text": "form"}
    )
    assert form.json()["result"]["message_id"] == message["message_id"] + 1
    by_name = await call(client, token, "sendMessage", chat_id="@ACME_tg_401", text="by name")
    assert by_name.json()["result"]["chat"]["id"] == chat["id"]
    deliveries = (await client.get("/sandbox/telegram/_inspect")).json()["deliveries"]
    assert {"chat_id": chat["id"], "text": "Ticket #123 created", "parse_mode": "HTML"} in deliveries
    for params, description in (
        ({"text": "hi"}, "Bad Request: chat_id is empty"),
        ({"chat_id": chat["id"]}, "Bad Request: message text is empty"),
        ({"chat_id": chat["id"], "text": "x" * 4097}, "Bad Request: message is too long"),
        ({"chat_id": "@nobody_here", "text": "hi"}, "Bad Request: chat not found"),
    ):
        response = await call(client, token, "sendMessage", **params)
        assert (response.status_code, response.json()["description"]) == (400, description)
    await add_to_chat(client, token, chat, status="kicked")
    kicked = await call(client, token, "sendMessage", chat_id=chat["id"], text="hi")
    assert kicked.status_code == 403
    assert kicked.json() == {
        "ok": False,
        "error_code": 403,
        "description": "Forbidden: bot was kicked from the supergroup chat",
    }


async def test_channel_messages_and_get_chat(client: httpx.AsyncClient) -> None:
    token = await new_bot(client)
    channel = ALERTS | {"id": -1001900000501}
    await add_to_chat(client, token, channel)
    message = (await call(client, token, "sendMessage", chat_id=channel["id"], text="hi")).json()["result"]
    assert message["sender_chat"] == channel and "from" not in message
    chat = (await call(client, token, "getChat", chat_id=channel["id"])).json()["result"]
    assert chat == channel | {"accent_color_id": 0, "max_reaction_count": 11}
    await add_to_chat(client, token, channel, status="left")
    left = await call(client, token, "getChat", chat_id=channel["id"])
    assert (left.status_code, left.json()["description"]) == (
        403,
        "Forbidden: bot is not a member of the channel chat",
    )


async def test_group_upgraded_to_supergroup(
    client: httpx.AsyncClient, origin: str, receiver: Receiver
) -> None:
    token = await new_bot(client)
    await call(client, token, "setWebhook", url=f"{origin}/hooks/ok")
    group = {"id": -4000000601, "title": "Night Shift", "type": "group"}
    await add_to_chat(client, token, group)
    upgraded = await add_to_chat(client, token, group, migrate_to_chat_id=-1001900000601)
    assert upgraded["delivered"] and upgraded["update"]["message"]["migrate_to_chat_id"] == -1001900000601
    response = await call(client, token, "sendMessage", chat_id=group["id"], text="hi")
    assert response.status_code == 400
    assert response.json() == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: group chat was upgraded to a supergroup chat",
        "parameters": {"migrate_to_chat_id": -1001900000601},
    }
    moved = await call(client, token, "sendMessage", chat_id=-1001900000601, text="hi")
    assert moved.json()["result"]["chat"]["type"] == "supergroup"


async def test_add_to_chat_rejects_bad_requests(client: httpx.AsyncClient) -> None:
    token = await new_bot(client)
    url = "/sandbox/telegram/_add_to_chat"
    chat = SUPPORT | {"id": -1001900000701}
    wrong_token = token[:-1] + ("a" if token[-1] != "a" else "b")
    for body, status in (
        ({"bot_token": wrong_token, "chat": chat}, 404),
        ({"bot_id": 1, "chat": chat}, 404),
        ({"chat": chat}, 422),
        ({"bot_token": token, "bot_id": int(token.split(":")[0]), "chat": chat}, 422),
        ({"bot_token": token, "chat": chat | {"type": "private"}}, 422),
        ({"bot_token": token, "chat": chat | {"id": 5}}, 422),
        ({"bot_token": token, "chat": chat, "surprise": 1}, 422),
        ({"bot_token": token, "chat": chat, "migrate_to_chat_id": -100}, 422),
    ):
        response = await client.post(url, json=body)
        assert response.status_code == status, body
        assert CANARY not in response.text
    as_form = await client.post(url, data={"bot_token": token})
    assert as_form.status_code == 415


async def test_demo_chats_page_adds_the_bot(
    client: httpx.AsyncClient, origin: str, receiver: Receiver
) -> None:
    token = await new_bot(client, "Demo <bot>")
    bot_id = token.split(":")[0]
    await call(client, token, "setWebhook", url=f"{origin}/hooks/ok", secret_token=SECRET)
    page = await client.get("/sandbox/telegram/chats", params={"bot_id": f'{bot_id}"><script>'})
    assert page.status_code == 200 and "<script>" not in page.text and 'value=""' in page.text
    page = await client.get("/sandbox/telegram/chats", params={"bot_id": bot_id})
    assert f'value="{bot_id}"' in page.text and 'id="add-1001900000001"' in page.text
    before = len(receiver.for_chat(-4000000001))
    done = await client.post("/sandbox/telegram/chats", data={"bot_id": bot_id, "chat_id": "-4000000001"})
    assert done.status_code == 200 and "Demo &lt;bot&gt; joined Night Shift" in done.text
    assert "delivered to the bot&#x27;s webhook (HTTP 200)" in done.text
    updates = receiver.for_chat(-4000000001)[before:]
    assert len(updates) == 1 and updates[0]["headers"]["x-telegram-bot-api-secret-token"] == SECRET
    unknown = await client.post("/sandbox/telegram/chats", data={"bot_id": bot_id, "chat_id": "-1"})
    assert unknown.status_code == 400


async def test_rate_limit_fault_uses_telegrams_429(client: httpx.AsyncClient) -> None:
    token = await new_bot(client)
    fault = await client.put("/sandbox/telegram/_fault", json={"mode": "rate_limited", "target": "api"})
    assert fault.status_code == 200
    try:
        limited = await call(client, token, "getMe")
        assert limited.status_code == 429
        assert limited.json() == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 30",
            "parameters": {"retry_after": 30},
        }
        await client.put(
            "/sandbox/telegram/_fault",
            json={"mode": "rate_limited", "target": "api", "retry_after": "missing"},
        )
        bare = await call(client, token, "getMe")
        assert bare.status_code == 429 and "parameters" not in bare.json()
        assert "retry-after" not in bare.headers
    finally:
        await client.delete("/sandbox/telegram/_fault")
    assert (await call(client, token, "getMe")).status_code == 200
