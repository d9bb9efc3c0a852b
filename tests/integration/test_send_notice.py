"""Console notices through `send_message` against the real sandbox providers over real HTTP: each chat
platform that carries notices takes one as a plain message in the chosen channel, outside any thread (no
handle asked for, no Discord thread started)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.integration.send_setups import INSTALLERS, http, origin
from tests.integration.test_send_message import messages
from tms_console.domain.messages import Outcome
from tms_console.providers.registry import HOOKS

__all__ = ["http", "origin"]  # the sandbox fixtures, shared from send_setups

CARRIERS = sorted(kind for kind in INSTALLERS if HOOKS[kind].sends_notices)


def test_every_chat_platform_but_whatsapp_carries_notices() -> None:
    assert CARRIERS == ["discord", "google_chat", "msteams", "slack", "telegram"]


@pytest.mark.parametrize("provider", CARRIERS)
async def test_a_notice_arrives_as_one_plain_message(
    http: httpx.AsyncClient, origin: str, provider: str
) -> None:
    setup = await INSTALLERS[provider](http, origin)
    marker = uuid.uuid4().hex[:10]
    text = f"Integration Slack of project Billing {marker} needs reconnecting: the token was revoked."
    hooks = HOOKS[provider]
    result = await hooks.send_message(setup.api, setup.bundle, setup.meta, hooks.render_notice(text))
    assert result.outcome is Outcome.DELIVERED, result
    [arrived] = [m for m in await messages(http, provider, setup) if marker in str(m)]
    assert "needs reconnecting" in str(arrived)
    if provider == "discord":  # a ticket's first message gets a thread (the bot is there); a notice none
        assert result.thread_handle == ""
