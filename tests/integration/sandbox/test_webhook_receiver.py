"""The sandbox webhook receiver over real HTTP, fed by the real building blocks: a rendered template,
a signature, and the SSRF-guarded client."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from sandbox import SandboxApp, create_sandbox_router
from tests.utils.live import free_port
from tms_console.domain.sample_events import SAMPLE_EVENTS
from tms_console.providers.ready_made import READY_MADE
from tms_console.providers.templating import render
from tms_console.security.signing import new_signing_secret, sign, verify
from tms_console.security.ssrf import DestinationError, webhook_client

CANARY = "CANARYwebhook7f3a"
INSPECT = "/sandbox/webhook/_inspect"


@pytest.fixture(scope="module")
def origin(redis_url: str) -> Iterator[str]:
    port = free_port()
    app = FastAPI()
    receiver = SandboxApp("webhook", "", f"http://127.0.0.1:{port}/unused")
    app.include_router(create_sandbox_router(redis_url=redis_url, apps={"webhook": receiver}, canary=CANARY))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
async def client(origin: str) -> AsyncIterator[httpx.AsyncClient]:
    async with webhook_client(allowed_origin=origin) as http:
        yield http


@pytest.fixture
def endpoint() -> str:
    return "ep-" + secrets.token_hex(6)


async def deliveries(origin: str, endpoint: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as http:
        response = await http.get(origin + INSPECT)
    assert response.status_code == 200
    return [d for d in response.json()["deliveries"] if d["endpoint"] == endpoint]


async def test_a_signed_rendered_delivery_is_recorded_and_verifiable(
    origin: str, client: httpx.AsyncClient, endpoint: str
) -> None:
    secret = new_signing_secret()
    body = render(READY_MADE["slack"], SAMPLE_EVENTS["ticket.assigned"]).encode()
    timestamp = int(time.time())
    headers = sign(secret, body, timestamp=timestamp, delivery_id="dlv_" + endpoint)
    headers["Content-Type"] = "application/json"
    response = await client.post(
        f"{origin}/sandbox/webhook/receive/{endpoint}", content=body, headers=headers
    )
    assert response.status_code == 200
    assert response.json() == {"ok": True, "endpoint": endpoint}

    (record,) = await deliveries(origin, endpoint)
    assert record["method"] == "POST"
    assert record["answered"] == 200
    assert record["body"].encode() == body
    assert json.loads(record["body"])["text"].startswith("Ticket assigned: #1042")
    assert record["headers"]["x-tms-delivery"] == "dlv_" + endpoint
    assert record["headers"]["x-tms-timestamp"] == str(timestamp)
    assert record["headers"]["content-type"] == "application/json"
    assert verify(secret, record["body"].encode(), record["headers"], now=timestamp)
    assert not verify(new_signing_secret(), record["body"].encode(), record["headers"], now=timestamp)
    assert secret not in json.dumps(record)
    assert record["received_at"].endswith("+00:00")


@pytest.mark.parametrize("status", [202, 204, 410, 500, 503])
async def test_the_answer_status_can_be_chosen(
    origin: str, client: httpx.AsyncClient, endpoint: str, status: int
) -> None:
    url = f"{origin}/sandbox/webhook/receive/{endpoint}?status={status}"
    response = await client.post(url, json={"n": status})
    assert response.status_code == status
    (record,) = await deliveries(origin, endpoint)
    assert record["answered"] == status
    assert json.loads(record["body"]) == {"n": status}


async def test_only_tms_and_content_headers_are_recorded(
    origin: str, client: httpx.AsyncClient, endpoint: str
) -> None:
    headers = {"Authorization": "Bearer " + CANARY, "Cookie": "s=" + CANARY, "X-TMS-Delivery": "d1"}
    response = await client.post(f"{origin}/sandbox/webhook/receive/{endpoint}", json={}, headers=headers)
    assert response.status_code == 200
    (record,) = await deliveries(origin, endpoint)
    assert record["headers"]["x-tms-delivery"] == "d1"
    assert CANARY not in json.dumps(record)


@pytest.mark.parametrize(
    ("query", "code"),
    [("?status=abc", 400), ("?status=99", 400), ("?status=600", 400), ("?status=200&status=500", 400)],
)
async def test_bad_status_requests_are_refused_and_not_recorded(
    origin: str, client: httpx.AsyncClient, endpoint: str, query: str, code: int
) -> None:
    response = await client.post(f"{origin}/sandbox/webhook/receive/{endpoint}{query}", json={})
    assert response.status_code == code
    assert await deliveries(origin, endpoint) == []


async def test_bad_endpoints_and_oversized_bodies_are_refused(
    origin: str, client: httpx.AsyncClient, endpoint: str
) -> None:
    bad = await client.post(f"{origin}/sandbox/webhook/receive/{'x' * 65}", json={})
    assert bad.status_code == 404
    huge = await client.post(f"{origin}/sandbox/webhook/receive/{endpoint}", content=b"x" * 300_000)
    assert huge.status_code == 413
    wrong_method = await client.get(f"{origin}/sandbox/webhook/receive/{endpoint}")
    assert wrong_method.status_code == 405
    assert await deliveries(origin, endpoint) == []


async def test_the_guarded_client_refuses_the_sandbox_unless_its_origin_is_allowed(
    origin: str, endpoint: str
) -> None:
    async with webhook_client(allowed_origin=None) as strict:
        with pytest.raises(DestinationError, match="loopback"):
            await strict.post(f"{origin}/sandbox/webhook/receive/{endpoint}", json={})
    assert await deliveries(origin, endpoint) == []


async def test_faults_refuse_before_anything_is_recorded_and_clear(
    origin: str, client: httpx.AsyncClient, endpoint: str
) -> None:
    """A 500 outage and a 429 with Retry-After, as for every provider's message endpoint; then it recovers."""
    url = f"{origin}/sandbox/webhook/receive/{endpoint}"
    attempts = (await client.get(origin + INSPECT)).json()["message_attempts"]
    try:
        fault = {"mode": "status", "status": 500, "target": "messages"}
        assert (await client.put(f"{origin}/sandbox/webhook/_fault", json=fault)).status_code == 200
        down = await client.post(url, json={"n": 1})
        assert down.status_code == 500 and down.text == "500 upstream failure"
        fault = {"mode": "rate_limited", "retry_after": "integer", "target": "messages"}
        assert (await client.put(f"{origin}/sandbox/webhook/_fault", json=fault)).status_code == 200
        limited = await client.post(url, json={"n": 2})
        assert limited.status_code == 429 and limited.headers["retry-after"] == "30"
        assert limited.json() == {"error": "too many requests"}
        assert await deliveries(origin, endpoint) == []
    finally:
        assert (await client.delete(f"{origin}/sandbox/webhook/_fault")).status_code == 204
    assert (await client.post(url, json={"n": 3})).status_code == 200
    assert [json.loads(d["body"]) for d in await deliveries(origin, endpoint)] == [{"n": 3}]
    assert (await client.get(origin + INSPECT)).json()["message_attempts"] == attempts + 3
