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


class RateLimiter:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def hit(self, limit: Limit, subjects: list[str]) -> int | None:
        """Count one request for each subject (one round trip); seconds to wait if any is over the limit.

        Raises:
            RedisError: Redis is unreachable.
        """
        now = time.time()
        window = int(now // limit.window_seconds)
        async with self._redis.pipeline(transaction=True) as pipe:
            for subject in subjects:
                name = hashlib.sha256(subject.encode()).hexdigest()[:32]
                key = f"{PREFIX}{limit.bucket}:{name}:{window}"
                pipe.incr(key)
                pipe.expire(key, limit.window_seconds + 1)
            replies = await pipe.execute()
        if all(int(count) <= limit.per_window for count in replies[::2]):
            return None
        return max(1, math.ceil((window + 1) * limit.window_seconds - now))
