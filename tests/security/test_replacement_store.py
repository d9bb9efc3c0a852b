"""Held replacements in real Redis: the tokens are sealed, bound to what they were held for, taken once."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from tms_console.domain.values import Installation
from tms_console.security.replacement_store import PREFIX, Held, ReplacementStore
from tms_console.security.state_store import digest

HELD = Held("t", "p", "slack", "u-1", "Ada", "r-1", "Acme", "Globex", time.time() + 600)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_the_tokens_are_sealed_and_taken_once(redis, canary) -> None:
    store = ReplacementStore(redis, keep_seconds=60)
    install = Installation(meta={"team_id": "T2"}, secrets={"access_token": f"xoxb-{canary}"})
    replacement = await store.hold(HELD, install)
    raw = await redis.get(PREFIX + digest(replacement))
    assert canary not in raw.decode() and replacement not in raw.decode()  # neither the token nor the id
    assert await store.peek(replacement) == HELD
    assert await store.take(replacement) == (HELD, install)
    assert await store.take(replacement) is None and await store.peek(replacement) is None


async def test_a_held_install_keeps_its_details_to_fetch(redis) -> None:
    """Confirmed later, it is saved by the general path, which queues the details job only if told."""
    store = ReplacementStore(redis, keep_seconds=60)
    install = Installation(meta={"guild_id": "1"}, secrets={"access_token": "x"}, details_later=True)
    assert await store.take(await store.hold(HELD, install)) == (HELD, install)


async def test_a_replacement_moved_to_another_row_or_agent_no_longer_opens(redis) -> None:
    store = ReplacementStore(redis, keep_seconds=60)
    replacement = await store.hold(HELD, Installation(secrets={"access_token": "x"}))
    key = PREFIX + digest(replacement)
    record = json.loads(await redis.get(key))
    await redis.set(key, json.dumps(record | {"row_id": "r-2", "user_id": "u-2"}))
    held, install = await store.take(replacement)
    assert held.row_id == "r-2" and install is None  # the AAD names the row and agent it was held for


async def test_malformed_ids_are_unknown(redis) -> None:
    store = ReplacementStore(redis, keep_seconds=60)
    for bad in ("", "x" * 42, "../../etc", "a" * 43 + "\n", "a" * 1000):
        assert await store.peek(bad) is None and await store.take(bad) is None
