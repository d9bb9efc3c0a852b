"""Redis-backed state of the sandbox providers.

The console runs several worker processes, so a code issued by one worker must be redeemable in
another: every piece of sandbox state lives in Redis under `sandbox:<provider>:`. Issued secrets are
stored only as SHA-256 digests, so scanning Redis for the canary finds the console's leaks, not ours.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import weakref
from collections.abc import Awaitable
from typing import Any, TypeVar, cast

from redis.asyncio import Redis

JsonDict = dict[str, Any]
T = TypeVar("T")

# Enough history for any test; keeps a long-running dev Redis bounded.
MAX_DELIVERIES = 500
ISSUE_ATTEMPTS = 3


def digest(secret: str) -> str:
    """SHA-256 hex digest of a secret, used as its Redis key.

    Args:
        secret: an issued token, webhook token or similar.

    Returns:
        The hex digest; the secret itself is never written to Redis.
    """
    return hashlib.sha256(secret.encode()).hexdigest()


class RedisConnector:
    """One lazily created `redis.asyncio` client per event loop.

    A client is bound to the loop it first ran on; test runners and dev servers may use several.
    """

    def __init__(self, redis_url: str) -> None:
        self._url = redis_url
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Redis] = (
            weakref.WeakKeyDictionary()
        )

    def client(self) -> Redis:
        """The client for the running event loop, created on first use."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = Redis.from_url(self._url, decode_responses=True)
            self._clients[loop] = client
        return client


class SandboxStore:
    """Records of one sandbox provider: codes, tokens, grants, flags, counters, deliveries."""

    def __init__(self, connector: RedisConnector, provider: str) -> None:
        self._connector = connector
        self._prefix = f"sandbox:{provider}:"

    def _key(self, *parts: str) -> str:
        return self._prefix + ":".join(parts)

    @property
    def _redis(self) -> Redis:
        return self._connector.client()

    async def issue_code(self, record: JsonDict, ttl: float) -> str:
        """Store a one-time authorization code (SET NX PX) and return it.

        Args:
            record: what the code is bound to (client, redirect URI, scopes, ...).
            ttl: lifetime in seconds (fractions allowed, so tests can watch a code expire).

        Returns:
            The code to put in the redirect.
        """
        for _ in range(ISSUE_ATTEMPTS):
            code = secrets.token_urlsafe(24)
            expiry = max(1, round(ttl * 1000))
            if await self._redis.set(self._key("code", code), json.dumps(record), nx=True, px=expiry):
                return code
        raise RuntimeError("could not allocate a unique authorization code")

    async def take_code(self, code: str) -> JsonDict | None:
        """Consume a code atomically (GETDEL): of concurrent redeemers exactly one gets it."""
        return _loads(await self._redis.getdel(self._key("code", code)))

    async def put(self, kind: str, ident: str, record: JsonDict, ttl: int | None = None) -> None:
        """Store a JSON record under `kind:ident`, optionally expiring."""
        await self._redis.set(self._key(kind, ident), json.dumps(record), ex=ttl)

    async def get(self, kind: str, ident: str) -> JsonDict | None:
        """The record under `kind:ident`, if any."""
        return _loads(await self._redis.get(self._key(kind, ident)))

    async def delete(self, kind: str, ident: str) -> bool:
        """Delete `kind:ident`; True when it existed."""
        return bool(await self._redis.delete(self._key(kind, ident)))

    async def put_secret(self, kind: str, secret: str, record: JsonDict, ttl: int | None = None) -> None:
        """Store a record keyed by the digest of an issued secret."""
        await self.put(kind, digest(secret), record, ttl)

    async def get_secret(self, kind: str, secret: str) -> JsonDict | None:
        """The record of an issued secret, if it is still valid."""
        return await self.get(kind, digest(secret))

    async def take_secret(self, kind: str, secret: str) -> JsonDict | None:
        """Consume a single-use secret (e.g. a refresh token) atomically."""
        return _loads(await self._redis.getdel(self._key(kind, digest(secret))))

    async def delete_secret(self, kind: str, secret: str) -> bool:
        """Invalidate an issued secret; True when it was valid."""
        return await self.delete(kind, digest(secret))

    async def link_to_grant(self, grant_id: str, kind: str, secret: str, ttl: int) -> None:
        """Remember that a secret belongs to an authorization, so revoking one revokes all."""
        key = self._key("grant", grant_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(key, self._key(kind, digest(secret)))
            pipe.expire(key, ttl)
            await pipe.execute()

    async def revoke_grant(self, grant_id: str) -> None:
        """Invalidate every secret of an authorization."""
        key = self._key("grant", grant_id)
        members = await _async(self._redis.smembers(key))
        await self._redis.delete(key, *members)

    async def add_flag(self, name: str, member: str) -> None:
        """Add a member to a named set (e.g. the guilds the bot was added to)."""
        await _async(self._redis.sadd(self._key("set", name), member))

    async def remove_flag(self, name: str, member: str) -> bool:
        """Remove a member from a named set; True when it was there."""
        return bool(await _async(self._redis.srem(self._key("set", name), member)))

    async def has_flag(self, name: str, member: str) -> bool:
        """Whether a named set holds a member."""
        return bool(await _async(self._redis.sismember(self._key("set", name), member)))

    async def members(self, name: str) -> set[str]:
        """Every member of a named set."""
        return set(await _async(self._redis.smembers(self._key("set", name))))

    async def incr(self, name: str) -> int:
        """Increment a counter (also used as a cluster-wide id serial)."""
        return int(await self._redis.incr(self._key("count", name)))

    async def count(self, name: str) -> int:
        """The current value of a counter."""
        return int(await self._redis.get(self._key("count", name)) or 0)

    async def record_delivery(self, body: Any) -> None:
        """Append a delivered message body, keeping the newest MAX_DELIVERIES."""
        key = self._key("deliveries")
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, json.dumps(body))
            pipe.ltrim(key, -MAX_DELIVERIES, -1)
            await pipe.execute()

    async def append(self, name: str, record: JsonDict, limit: int = MAX_DELIVERIES) -> None:
        """Append a JSON record to the named list, keeping the newest `limit`."""
        key = self._key("list", name)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, json.dumps(record))
            pipe.ltrim(key, -limit, -1)
            await pipe.execute()

    async def items(self, name: str) -> list[JsonDict]:
        """The records of a named list, oldest first."""
        raw = await _async(self._redis.lrange(self._key("list", name), 0, -1))
        return [json.loads(item) for item in raw]

    async def put_field(self, name: str, field: str, record: JsonDict) -> None:
        """Set one field of a named hash to a JSON record."""
        await _async(self._redis.hset(self._key("hash", name), field, json.dumps(record)))

    async def fields(self, name: str) -> dict[str, JsonDict]:
        """Every field of a named hash."""
        raw = await _async(self._redis.hgetall(self._key("hash", name)))
        return {field: json.loads(value) for field, value in raw.items()}

    async def snapshot(self) -> JsonDict:
        """What `_inspect` shows: counters and delivered bodies, never secrets."""
        raw = await _async(self._redis.lrange(self._key("deliveries"), 0, -1))
        return {
            "token_exchanges": await self.count("token_exchanges"),
            "refresh_grants": await self.count("refresh_grants"),
            "revocations": await self.count("revocations"),
            "message_attempts": await self.count("message_attempts"),
            "deliveries": [json.loads(item) for item in raw],
        }


def _async(result: Awaitable[T] | T) -> Awaitable[T]:
    # redis-py types set/list commands as sync-or-async; on the asyncio client they are awaitable.
    return cast(Awaitable[T], result)


def _loads(raw: str | None) -> JsonDict | None:
    return None if raw is None else json.loads(raw)
