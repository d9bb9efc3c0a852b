"""Sandbox receiver for the outgoing webhook: a place to send deliveries in demos and tests.

`POST /sandbox/webhook/receive/{endpoint}` records each request (method, the X-TMS-* headers, the
raw body and the arrival time) and answers 200, or the status given as `?status=` so tests can
make a delivery fail. It honours the sandbox faults like every provider's message endpoint
(`PUT /sandbox/webhook/_fault`, target `messages`: e.g. a 500 outage for a while, or 429 with a
`Retry-After`), answering before anything is recorded. `GET /sandbox/webhook/_inspect` lists what
arrived, and `/sandbox/webhook/channels/{endpoint}` shows it. The signing secret is never
sent, so nothing recorded here is a secret: the signature is an HMAC of the body. Because the body is
kept exactly (it is JSON, so UTF-8), a test can verify the signature from the record alone.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sandbox import faults
from sandbox.inbox import Inbox, Message
from sandbox.store import JsonDict, SandboxStore
from sandbox.web import Rejected, guarded, json_response

if TYPE_CHECKING:
    from sandbox import SandboxApp

MAX_BODY_BYTES = 256 * 1024
ENDPOINT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Headers worth recording: ours, plus what tells how the body was sent. Never Authorization/Cookie.
# The Standard Webhooks headers are recorded too: a receiver drops duplicates by `webhook-id`.
RECORDED_HEADERS = (
    "content-type", "content-length", "user-agent", "webhook-id", "webhook-timestamp", "webhook-signature",
)  # fmt: skip


def build_router(app: SandboxApp, store: SandboxStore, canary: str) -> APIRouter:
    """Routes of the webhook receiver. `app` and `canary` are unused: it issues no credentials."""
    router = APIRouter()
    receive = faults.with_message_faults(store, "webhook", _receiver(store))
    router.add_api_route("/sandbox/webhook/receive/{endpoint}", receive, methods=["POST"])
    return router


def _receiver(store: SandboxStore) -> Callable[[Request, str], Awaitable[Response]]:
    @guarded
    async def receive(request: Request, endpoint: str) -> Response:
        """Record one delivery and answer with the requested status (default 200)."""
        if not ENDPOINT.match(endpoint):
            raise Rejected(json_response({"error": "unknown endpoint"}, 404))
        status = _requested_status(request.query_params.getlist("status"))
        body = await _bounded_body(request)
        await store.record_delivery(_record(request, endpoint, body, status))
        text = body.decode("utf-8", "replace")
        message = Message(
            str(await store.incr("message_serial")), text, "plain", via=f"POST, answered {status}"
        )
        await Inbox(store).receive(endpoint, f"/receive/{endpoint}", message)
        if 200 <= status < 300:
            return json_response({"ok": True, "endpoint": endpoint}, status)
        return json_response({"ok": False, "error": f"sandbox answered {status} as asked"}, status)

    return receive


def _requested_status(values: list[str]) -> int:
    if not values:
        return 200
    if len(values) > 1 or not values[0].isascii() or not values[0].isdigit():
        raise Rejected(json_response({"error": "status must be one number from 200 to 599"}, 400))
    status = int(values[0])
    if not 200 <= status <= 599:
        raise Rejected(json_response({"error": "status must be one number from 200 to 599"}, 400))
    return status


async def _bounded_body(request: Request) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise Rejected(json_response({"error": "payload too large"}, 413))
        chunks.append(chunk)
    return b"".join(chunks)


def _record(request: Request, endpoint: str, body: bytes, status: int) -> JsonDict:
    headers = {
        name.lower(): value
        for name, value in request.headers.items()
        if name.lower().startswith("x-tms-") or name.lower() in RECORDED_HEADERS
    }
    return {
        "endpoint": endpoint,
        "method": request.method,
        "headers": headers,
        "body": body.decode("utf-8", "replace"),
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "received_at": datetime.now(UTC).isoformat(),
        "answered": status,
    }
