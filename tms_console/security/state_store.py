"""One-time OAuth state in Redis: `SET NX EX` to issue, `GETDEL` to consume (bolt-python's shape).

The state is 256 bits from `secrets`; only its SHA-256 names the Redis key, so a Redis dump alone
cannot be replayed against the callback.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import asdict, dataclass

import redis.asyncio as aioredis

_STATE_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")
PREFIX = "oauth:state:"


@dataclass(frozen=True)
class PendingInstall:
    tenant_id: str
    project_id: str
    integration_type: str
    user_id: str
    user_name: str
    pkce_verifier: str | None = None
    binding_hash: str | None = None
    reconnect_of: str | None = None


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class StateStore:
    def __init__(self, redis: aioredis.Redis, *, ttl_seconds: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds

    async def issue(self, pending: PendingInstall) -> str:
        """Store `pending` under a fresh state; returns the state to put in the authorize URL."""
        while True:
            state = secrets.token_urlsafe(32)
            stored = await self._redis.set(
                PREFIX + digest(state), json.dumps(asdict(pending)), nx=True, ex=self._ttl
            )
            if stored:
                return state

    async def consume(self, state: str) -> PendingInstall | None:
        """Atomically take the state: of N concurrent callers exactly one gets it."""
        if not _STATE_SHAPE.match(state):
            return None
        raw = await self._redis.getdel(PREFIX + digest(state))
        if raw is None:
            return None
        return PendingInstall(**json.loads(raw))
