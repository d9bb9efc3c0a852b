"""Recognising a provider call we already acted on (a retry, or a replay of a captured request).

Each call's id (the provider's event id, or a hash of the signed body) is claimed once with `SET NX EX`;
the claim outlives the 5-minute freshness window, so a replayed request is either stale or claimed.
Only a SHA-256 of the id names the Redis key.
"""

from __future__ import annotations

import hashlib

import redis.asyncio as aioredis

PREFIX = "inbound:seen:"
TTL_SECONDS = 3600  # > the freshness window, and covers Slack's retries (1 min, 5 min, 30 min)


def _key(provider: str, event_id: str) -> str:
    return PREFIX + provider + ":" + hashlib.sha256(event_id.encode()).hexdigest()


class ReplayGuard:
    def __init__(self, redis: aioredis.Redis, *, ttl_seconds: int = TTL_SECONDS) -> None:
        self._redis = redis
        self._ttl = ttl_seconds

    async def claim(self, provider: str, event_id: str) -> bool:
        """True the first time a call is seen; False for a repeat within the TTL."""
        return bool(await self._redis.set(_key(provider, event_id), "1", nx=True, ex=self._ttl))

    async def release(self, provider: str, event_id: str) -> None:
        """Forget a claim whose work failed, so the provider's retry is acted on."""
        await self._redis.delete(_key(provider, event_id))
