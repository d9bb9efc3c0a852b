"""Health calls to one provider, paced across every worker and host: at most HEALTH_RATE_PER_SECOND
a second (a one-second window in Redis, security/ratelimit.py).

Checks are spread over the interval already (services/health_checks.py); the pace caps what a burst
could still send one provider (a scheduler catching up, a token refresh wave). At the default 20/s
a provider gets 72,000 calls an hour from us at most, far under each platform's own limits for these
calls; 10,000 integrations checked hourly need under 3/s. Redis being down lets the call through (a
check must not fail because its pacing cannot be counted).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time

from redis.exceptions import RedisError

from tms_console.persistence.redis import get_redis
from tms_console.security.ratelimit import Limit, RateLimiter
from tms_console.settings import get_settings

logger = logging.getLogger("tms_console.health")
BUCKET = "health"


async def wait_turn(provider: str) -> None:
    """Return once this second's share of calls to `provider` has room for one more."""
    limit = Limit(BUCKET, get_settings().health_rate_per_second, window_seconds=1)
    limiter = RateLimiter(get_redis())
    while True:
        try:
            if await limiter.hit(limit, [provider]) is None:
                return
        except (RedisError, OSError):
            logger.warning("health_pace_unavailable type=%s", provider)
            return
        # Over: wait for the next window, spread a little so the waiting calls do not wake as one.
        await asyncio.sleep(1 - time.time() % 1 + random.uniform(0, 0.05))  # noqa: S311 (not crypto)
