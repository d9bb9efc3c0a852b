"""send_message against the real sandbox providers over real HTTP: a rendered sample event reaches the chosen
channel, the ticket's next event lands in its thread (or keyed thread) through the returned handle, and the
sandbox's `auth_error` and `rate_limited` faults come back as AUTH_FAILED and RETRY after one attempt."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.integration.send_setups import INSTALLERS, Installed, http, origin
from tms_console.domain.events import TicketEvent
from tms_console.domain.messages import Outcome, SendResult
from tms_console.domain.sample_events import SAMPLE_EVENTS
from tms_console.providers.registry import HOOKS

__all__ = ["http", "origin"]  # the sandbox fixtures, shared from send_setups

PROVIDERS = sorted(INSTALLERS)
# Where the first message's handle puts later ones; Google Chat threads by key, WhatsApp has no threads.
REPLIES = ("slack", "discord", "msteams", "telegram")


def ticket_event(event_type: str, ticket_id: str, marker: str) -> TicketEvent:
    sample = SAMPLE_EVENTS[event_type]
    ticket = sample["ticket"] | {"id": ticket_id, "subject": f"{marker} printer on fire"}
    return TicketEvent.from_dict(sample | {"ticket": ticket})


async def deliver(provider: str, setup: Installed, event: TicketEvent, handle: str = "") -> SendResult:
    hooks = HOOKS[provider]
    message = hooks.render_event(event, setup.meta)
    return await hooks.send_message(setup.api, setup.bundle, setup.meta, message, thread_handle=handle)


async def inspect(http: httpx.AsyncClient, provider: str) -> dict[str, Any]:
    return (await http.get(f"/sandbox/{provider}/_inspect")).json()


async def messages(http: httpx.AsyncClient, provider: str, setup: Installed) -> list[dict[str, Any]]:
    channels = (await inspect(http, provider))["channels"]
    return [m for c in channels if c["id"] == setup.inbox for m in c["messages"]]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_first_event_then_its_thread(http: httpx.AsyncClient, origin: str, provider: str) -> None:
    setup = await INSTALLERS[provider](http, origin)
    marker, ticket = uuid.uuid4().hex[:10], str(uuid.uuid4())
    first = await deliver(provider, setup, ticket_event("ticket.created", ticket, marker))
    assert first.outcome is Outcome.DELIVERED and 200 <= (first.http_status or 0) < 300, first
    assert bool(first.thread_handle) is (provider in REPLIES)
    second = await deliver(
        provider, setup, ticket_event("ticket.commented", ticket, marker), first.thread_handle
    )
    assert second.outcome is Outcome.DELIVERED and second.thread_handle == "", second
    root, reply = (await messages(http, provider, setup))[-2:]  # inboxes are capped: the newest two
    if provider in REPLIES:
        assert reply["thread"] == first.thread_handle and root["thread"] in (None, first.thread_handle)
        assert root["id"] == first.thread_handle
    elif provider == "google_chat":
        assert reply["thread"] == root["thread"] and root["thread"]
    assert marker in str(root) and marker in str(reply)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_auth_error_fault_needs_a_reconnect_after_one_attempt(
    http: httpx.AsyncClient, origin: str, provider: str
) -> None:
    setup = await INSTALLERS[provider](http, origin)
    result, attempts = await with_fault(http, provider, setup, {"mode": "auth_error", "target": "messages"})
    assert result.outcome is Outcome.AUTH_FAILED and attempts == 1, result
    assert result.http_status in (200, 401, 403, 404) and result.reason
    assert_no_secret(result, setup)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_rate_limited_fault_retries_with_the_wait(
    http: httpx.AsyncClient, origin: str, provider: str
) -> None:
    setup = await INSTALLERS[provider](http, origin)
    fault = {"mode": "rate_limited", "target": "messages"}
    result, attempts = await with_fault(http, provider, setup, fault)
    assert result.outcome is Outcome.RETRY and attempts == 1, result
    if provider == "whatsapp":  # Meta throttles with 400 and code 80007, and names no wait
        assert (result.http_status, result.reason, result.retry_after) == (400, "graph_80007", None)
    else:
        waits = {"discord": 1.5}  # Discord's body figure beats the header; the others' header says 30
        assert (result.http_status, result.retry_after) == (429, waits.get(provider, 30.0))
    assert_no_secret(result, setup)


async def with_fault(
    http: httpx.AsyncClient, provider: str, setup: Installed, fault: dict[str, str]
) -> tuple[SendResult, int]:
    """One send while `fault` is on: its result and how many requests reached the endpoint. A message sent
    just before stays the channel's newest, so nothing arrived."""
    event = ticket_event("ticket.created", str(uuid.uuid4()), "x")
    assert (await deliver(provider, setup, event)).outcome is Outcome.DELIVERED
    newest = (await messages(http, provider, setup))[-1]
    before = (await inspect(http, provider))["message_attempts"]
    assert (await http.put(f"/sandbox/{provider}/_fault", json=fault)).status_code == 200
    try:
        result = await deliver(provider, setup, event)
    finally:
        await http.delete(f"/sandbox/{provider}/_fault")
    assert (await messages(http, provider, setup))[-1] == newest
    return result, (await inspect(http, provider))["message_attempts"] - before


def assert_no_secret(result: SendResult, setup: Installed) -> None:
    text = f"{result.reason} {result.detail}"
    assert len(result.detail.encode()) <= 1024
    assert all(str(value) not in text for value in setup.bundle.values())
