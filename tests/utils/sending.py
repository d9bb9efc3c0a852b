"""Shared pieces of the send_message unit tests: a rendered sample event, the real facade, respx helpers."""

from __future__ import annotations

import json
from typing import Any

import httpx
import respx

from tms_console.domain.events import TicketEvent
from tms_console.domain.messages import RenderedMessage, SendResult
from tms_console.domain.sample_events import SAMPLE_EVENTS
from tms_console.oauth.http import ProviderApi
from tms_console.providers.registry import HOOKS, PROVIDERS

CREATED = TicketEvent.from_dict(SAMPLE_EVENTS["ticket.created"])


def api_of(provider: str, *, bot: str | None = None) -> ProviderApi:
    """The facade send_message gets in production, on the provider's real hosts (respx answers)."""
    spec = PROVIDERS[provider]
    return ProviderApi(spec.api_base, bot_token=bot, graph_base=spec.graph_api_base)


def rendered(provider: str, meta: dict[str, Any] | None = None) -> RenderedMessage:
    return HOOKS[provider].render_event(CREATED, meta or {})


async def send(
    provider: str,
    bundle: dict[str, Any],
    meta: dict[str, Any],
    *,
    thread_handle: str = "",
    bot: str | None = None,
) -> SendResult:
    message = rendered(provider, meta)
    return await HOOKS[provider].send_message(
        api_of(provider, bot=bot), bundle, meta, message, thread_handle=thread_handle
    )


def sent_json(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


def answer(status: int, body: Any = None, **headers: str) -> httpx.Response:
    if body is None:
        return httpx.Response(status, headers=headers)
    if isinstance(body, str):
        return httpx.Response(status, text=body, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


def assert_secret_free(result: SendResult, *secrets: str) -> None:
    text = f"{result.reason} {result.detail} {result.thread_handle}"
    assert all(secret not in text for secret in secrets), text
    assert len(result.detail.encode()) <= 1024
