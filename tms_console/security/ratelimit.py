"""Fixed-window rate limits in Redis, shared by every worker and host.

A window is `INCR` + `EXPIRE` on `ratelimit:<bucket>:<subject digest>:<window number>`. Subjects
(client IPs, user ids) are stored as digests. Every limited route needs Redis for its own work (the
OAuth state), so a Redis failure here is raised to the caller at once (a clear 503) instead of
being waited out a second time.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

import redis.asyncio as aioredis

PREFIX = "ratelimit:"


@dataclass(frozen=True)
class Limit:
    bucket: str  # what is limited, e.g. "callback"
    per_window: int
    window_seconds: int = 60


@dataclass(frozen=True)
class Charge:
    """One request's count against a limit, for a script that counts it beside other work (one round
    trip): INCR + EXPIRE each key; over the limit when any count exceeds `per_window`."""

    keys: tuple[str, ...]
    per_window: int
    expire_seconds: int
    retry_after: int  # seconds to wait when over the limit


def charge(limit: Limit, subjects: list[str], now: float | None = None) -> Charge:
    """The window keys of `subjects` now (subjects are stored as digests)."""
    now = time.time() if now is None else now
    window = int(now // limit.window_seconds)
    keys = tuple(
        f"{PREFIX}{limit.bucket}:{hashlib.sha256(subject.encode()).hexdigest()[:32]}:{window}"
        for subject in subjects
    )
    retry_after = max(1, math.ceil((window + 1) * limit.window_seconds - now))
    return Charge(keys, limit.per_window, limit.window_seconds + 1, retry_after)


class RateLimiter:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def hit(self, limit: Limit, subjects: list[str]) -> int | None:
        """Count one request for each subject (one round trip); seconds to wait if any is over the limit.

        Raises:
            RedisError: Redis is unreachable.
        """
        counted = charge(limit, subjects)
        async with self._redis.pipeline(transaction=True) as pipe:
            for key in counted.keys:
                pipe.incr(key)
                pipe.expire(key, counted.expire_seconds)
            replies = await pipe.execute()
        if all(int(count) <= limit.per_window for count in replies[::2]):
            return None
        return counted.retry_after
