"""When a delivery is tried again: the Svix schedule with jitter (DELIVERY.md), pure arithmetic.

Attempt 1 runs at once; after a failed attempt n the next waits `SCHEDULE[n]` seconds: 5 s, 5 min,
30 min, 2 h, 5 h, 10 h, 10 h, about 27.5 hours in all. After attempt 8 the delivery has failed.
"""

from __future__ import annotations

import random
from collections.abc import Callable

# Seconds before attempt 1, 2, ... 8.
SCHEDULE: tuple[float, ...] = (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
MAX_ATTEMPTS = len(SCHEDULE)
JITTER = 0.1  # +-10 %, so endpoints that failed together are not all retried in the same second


def next_delay(
    attempts_made: int,
    *,
    retry_after: float | None = None,
    scale: float = 1.0,
    uniform: Callable[[float, float], float] = random.uniform,
) -> float | None:
    """Seconds until the next attempt after `attempts_made` attempts, or None: give up.

    Args:
        attempts_made: attempts so far, the failed one included (1 after the first).
        retry_after: what the receiver asked for (429 `Retry-After`); never waited less than that.
        scale: multiplies every delay (RETRY_SCHEDULE_SCALE; tests compress the schedule).
        uniform: the jitter's random source (tests pass a fixed one).
    """
    if attempts_made < 1 or attempts_made >= MAX_ATTEMPTS:
        return None
    planned = SCHEDULE[attempts_made] * uniform(1 - JITTER, 1 + JITTER)
    return max(planned, retry_after or 0.0) * scale
