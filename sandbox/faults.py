"""Fault modes of the sandbox providers, so tests can prove the console survives a misbehaving provider.

A test selects one fault per provider with `PUT /sandbox/<provider>/_fault` (JSON body, see `Fault`)
and clears it with `DELETE`. The fault lives in Redis (`sandbox:<provider>:fault:active`), so every
worker process applies it. The real handler always runs first and the fault then replaces or mangles
its response: counters (`token_exchanges`) and codes behave exactly as without the fault, which is
what lets a test prove "one exchange per attempt, no retry storm".

Message endpoints (chat.postMessage, execute webhook, Graph channel messages, spaces.messages.create,
sendMessage, Cloud API messages, incoming webhooks, the plain webhook receiver) are wrapped by
`with_message_faults` instead: target `messages` hits only them (`api` hits them too), every request
counts in `message_attempts`, and a fault that means "not accepted" answers before the handler, so
nothing reaches the channel. `auth_error` answers
what each provider says once the install's credential is revoked or its bot/webhook removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import functools
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sandbox.store import SandboxStore

Target = Literal["token", "api", "messages"]
# Faults that mean "the provider did not take the message": on message endpoints they answer before the
# handler runs, so nothing is recorded as received (the other modes mangle the answer to a message that
# did arrive, as a broken proxy would).
REFUSING = frozenset({"status", "hang", "not_ok", "rate_limited", "auth_error"})
Handler = Callable[..., Awaitable[Response]]

FAULT_TTL = 3600  # a fault a test forgot to clear dies on its own in a shared dev Redis
HOSTILE_TEXT = "<img src=x onerror=alert(1)>"
# Keys whose string values identify the install: guild/channel/webhook/team names.
NAME_KEYS = frozenset({"name", "channel", "team", "displayName", "verified_name"})  # displayName: Graph
# Where provider-supplied URLs sit in the responses the console reads.
URL_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "webhook": (("webhook", "url"), ("incoming_webhook", "url")),  # Discord, Slack
    "configuration": (("incoming_webhook", "configuration_url"),),  # Slack
    "team": (("url",),),  # Slack auth.test
}


class Fault(BaseModel):
    """One fault. Only `mode` is required; the other fields tune the mode that reads them."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal[
        "status",  # HTTP `status` with a short text body
        "hang",  # never answer (until the client gives up, at most `seconds`)
        "drip",  # the real body, one byte every `interval` seconds (at most `seconds`)
        "malformed_json",  # 200, JSON content type, the real body cut in half
        "html",  # 200 with an HTML page
        "not_ok",  # 200 with Slack's {"ok": false, "error": `error`}
        "rate_limited",  # 429, Retry-After per `retry_after`, the provider's 429 body
        "oversized",  # 200 with a JSON body of `size` bytes
        "hostile_name",  # the real body with every guild/channel/team/webhook name set to `text`
        "hostile_url",  # the real body with the URL named by `url_field` set to `url`
        "auth_error",  # the provider's own answer to a revoked credential or a removed bot/webhook
    ]
    # "messages" hits only the message endpoints; "api" hits them and every other API endpoint.
    target: Literal["token", "api", "messages", "both"] = "token"
    status: Literal[500, 502, 503] = 503
    retry_after: Literal["integer", "float", "date", "missing", "garbage"] = "integer"
    error: str = Field("internal_error", max_length=100)
    text: str = Field(HOSTILE_TEXT, max_length=20_000)
    url: str = Field("javascript:alert(1)", max_length=2_000)
    url_field: Literal["webhook", "configuration", "team"] = "webhook"
    size: int = Field(5_000_000, ge=1, le=20_000_000)
    interval: float = Field(0.05, gt=0, le=5)
    seconds: float = Field(30, gt=0, le=120)  # server-side bound of hang and drip

    def hits(self, target: Target) -> bool:
        return self.target in (target, "both") or (self.target == "api" and target == "messages")


async def load(store: SandboxStore) -> Fault | None:
    """The active fault of a provider, if any."""
    raw = await store.get("fault", "active")
    return None if raw is None else Fault.model_validate(raw)


def with_faults(store: SandboxStore, provider: str, target: Target, handler: Handler) -> Handler:
    """Wrap a route handler (called by FastAPI with keyword arguments, `request` among them)."""

    @functools.wraps(handler)
    async def run(*args: Any, **kwargs: Any) -> Response:
        response = await handler(*args, **kwargs)
        fault = await load(store)
        if fault is None or not fault.hits(target):
            return response
        return await _apply(fault, provider, kwargs["request"], response)

    return run


def with_message_faults(store: SandboxStore, provider: str, handler: Handler) -> Handler:
    """Wrap a message endpoint: refusing faults answer first, so the message is not received.

    Every request is counted (`message_attempts` in `_inspect`), so a test sees how often the console tried.
    """

    @functools.wraps(handler)
    async def run(*args: Any, **kwargs: Any) -> Response:
        await store.incr("message_attempts")
        fault = await load(store)
        if fault is None or not fault.hits("messages"):
            return await handler(*args, **kwargs)
        if fault.mode in REFUSING:
            return await _apply(fault, provider, kwargs["request"], Response())
        return await _apply(fault, provider, kwargs["request"], await handler(*args, **kwargs))

    return run


def add_fault_routes(router: APIRouter, store: SandboxStore, provider: str) -> None:
    """`PUT|GET|DELETE /sandbox/<provider>/_fault` (tests and demos only, like `_inspect`)."""

    async def put_fault(request: Request) -> Response:
        try:
            fault = Fault.model_validate_json(await request.body())
        except ValidationError as exc:
            return JSONResponse({"detail": exc.errors(include_url=False, include_input=False)}, 422)
        await store.put("fault", "active", fault.model_dump(), FAULT_TTL)
        return JSONResponse(fault.model_dump())

    async def get_fault() -> Response:
        fault = await load(store)
        return JSONResponse(fault.model_dump() if fault else None)

    async def clear_fault() -> Response:
        await store.delete("fault", "active")
        return Response(status_code=204)

    path = f"/sandbox/{provider}/_fault"
    router.add_api_route(path, put_fault, methods=["PUT"])
    router.add_api_route(path, get_fault, methods=["GET"])
    router.add_api_route(path, clear_fault, methods=["DELETE"])


async def _apply(fault: Fault, provider: str, request: Request, response: Response) -> Response:
    body = bytes(response.body)
    if fault.mode == "status":
        return Response(f"{fault.status} upstream failure", fault.status, media_type="text/plain")
    if fault.mode == "hang":
        await _hang(request, fault.seconds)
        return Response(status_code=504)
    if fault.mode == "drip":
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        drip = _drip(body, fault.interval, fault.seconds)
        return StreamingResponse(drip, response.status_code, headers=headers)
    if fault.mode == "malformed_json":
        return Response(body[: len(body) // 2] or b'{"ok": tr', 200, media_type="application/json")
    if fault.mode == "html":
        page = "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"
        return Response(page, 200, media_type="text/html")
    if fault.mode == "not_ok":
        return JSONResponse({"ok": False, "error": fault.error})
    if fault.mode == "rate_limited":
        return _rate_limited(fault, provider)
    if fault.mode == "auth_error":
        return auth_error(provider, fault.error)
    if fault.mode == "oversized":
        padding = b'{"padding": "' + b"x" * fault.size + b'"}'
        return Response(padding, 200, media_type="application/json")
    data = json.loads(body) if body else None
    if fault.mode == "hostile_name":
        data = rename(data, fault.text)
    else:
        set_urls(data, URL_PATHS[fault.url_field], fault.url)
    return JSONResponse(data, response.status_code, headers={"Cache-Control": "no-store"})


async def _hang(request: Request, seconds: float) -> None:
    """Answer nothing until the client hangs up, or `seconds` pass (so the server stays bounded)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            # Once the body is read, the server's receive() blocks until the client disconnects.
            while (await request.receive())["type"] != "http.disconnect":
                pass


async def _drip(body: bytes, interval: float, seconds: float) -> AsyncIterator[bytes]:
    """Each byte arrives well within any read timeout; the whole body takes far longer than one."""
    deadline = time.monotonic() + seconds
    for index in range(len(body)):
        if time.monotonic() > deadline:
            return
        yield body[index : index + 1]
        await asyncio.sleep(interval)


def retry_after_value(kind: str, now: float | None = None) -> str | None:
    """The Retry-After header of a 429 for each variant the console must survive."""
    later = (time.time() if now is None else now) + 30
    values = {
        "integer": "30",
        "float": "1.5",
        "date": email.utils.formatdate(later, usegmt=True),
        "garbage": "soon-ish; 1e999999 DROP TABLE",
    }
    return values.get(kind)  # "missing": no header at all


def _rate_limited(fault: Fault, provider: str) -> Response:
    """Discord's 429 JSON (PROVIDERS.md §1.10), Slack's `ratelimited` (§2.10) or Telegram's (§5.7)."""
    body: dict[str, Any] = {"ok": False, "error": "ratelimited"}
    if provider == "discord":
        body = {"message": "You are being rate limited.", "retry_after": 1.5, "global": False}
    if provider == "telegram":
        body = {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 30"}
        if fault.retry_after != "missing":  # some real 429s omit `parameters` (§5.7)
            body["parameters"] = {"retry_after": 30}
    if provider == "msteams":  # Graph's throttling body (§3.10)
        inner = {"code": "429", "date": time.strftime("%Y-%m-%dT%H:%M:%S"), "status": "429"}
        body = {"error": {"code": "TooManyRequests", "message": "Please retry again later."}}
        body["error"]["innerError"] = inner | {"request-id": str(uuid.uuid4())}
    if provider == "whatsapp":  # Meta: 400 + Graph envelope, no Retry-After; key on `code` (§6.8)
        code = 4 if fault.target == "token" else 80007  # app-level vs WABA-level throttling
        text = "Rate limit hit for WhatsApp Business Account"
        text = "Application request limit reached" if code == 4 else text
        error = {"message": f"(#{code}) {text}", "type": "OAuthException", "code": code}
        return JSONResponse({"error": error | {"fbtrace_id": "AsandboxRateLimit"}}, 400)
    if provider == "webhook":  # a plain receiver behind a rate limiter: a short JSON error
        body = {"error": "too many requests"}
    if provider == "google_chat":  # Google's API error envelope (§4.8)
        message = "Resource has been exhausted (e.g. check quota)."
        body = {"error": {"code": 429, "message": message, "status": "RESOURCE_EXHAUSTED"}}
    value = retry_after_value(fault.retry_after)
    return JSONResponse(body, 429, headers={"Retry-After": value} if value is not None else None)


def rename(data: Any, text: str) -> Any:
    """Every string under a name-like key, at any depth, replaced by `text`."""
    if isinstance(data, list):
        return [rename(item, text) for item in data]
    if isinstance(data, dict):
        return {
            key: text if key in NAME_KEYS and isinstance(value, str) else rename(value, text)
            for key, value in data.items()
        }
    return data


def set_urls(data: Any, paths: tuple[tuple[str, ...], ...], url: str) -> None:
    """Set `url` at each path whose key already exists (other responses stay untouched)."""
    for path in paths:
        parent = data
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if isinstance(parent, dict) and path[-1] in parent:
            parent[path[-1]] = url


AUTH_ERRORS: dict[str, tuple[int, Any]] = {
    # Each provider's answer once the install's credential is revoked or its bot/webhook removed.
    "discord": (404, {"message": "Unknown Webhook", "code": 10015}),  # PROVIDERS.md §1.8, §1.10
    "msteams": (
        401,
        {"error": {"code": "InvalidAuthenticationToken", "message": "Access token has expired."}},
    ),
    "google_chat": (
        401,
        {
            "error": {
                "code": 401,
                "message": "Request had invalid authentication credentials.",
                "status": "UNAUTHENTICATED",
            }
        },
    ),
    "telegram": (
        403,
        {"ok": False, "error_code": 403, "description": "Forbidden: bot was kicked from the group chat"},
    ),
    "whatsapp": (
        401,
        {
            "error": {
                "message": "Invalid OAuth access token - Cannot parse access token",
                "type": "OAuthException",
                "code": 190,
            }
        },
    ),
    "webhook": (410, {"ok": False, "error": "gone"}),
}


def auth_error(provider: str, error: str) -> Response:
    """The `auth_error` fault: Slack's `ok: false` with `error` (default `invalid_auth`), else the table's."""
    if provider == "slack":
        return JSONResponse({"ok": False, "error": "invalid_auth" if error == "internal_error" else error})
    status, body = AUTH_ERRORS[provider]
    return JSONResponse(body, status)
