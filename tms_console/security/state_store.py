"""One-time OAuth state in Redis: `SET NX EX` to issue, `GETDEL` to consume (bolt-python's shape).

The state is 256 bits from `secrets`; only its SHA-256 names the Redis key, so a Redis dump alone
cannot be replayed against the callback. Consuming leaves a tombstone for the state's lifetime, so a
replay is told apart from a forged or expired state (`REUSED`).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import asdict, dataclass

import redis.asyncio as aioredis

from tms_console.security.ratelimit import Charge

_STATE_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")
PREFIX = "oauth:state:"
USED_PREFIX = "oauth:used:"
REUSED = "reused"  # consume()'s answer for a state that was already taken

LIMITED = "limited"  # consume()'s answer when the request's rate limit refused it (state untouched)
NO_LIMIT = Charge((), 0, 0, 0)

# The scripts' first lines: count the request against its rate limit (KEYS[{first}..]; none: no limit,
# ARGV[3] the allowance, ARGV[4] the keys' lifetime), `over` when any count exceeds it.
_COUNT = """
local over = false
for i = {first}, #KEYS do
  local count = redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], ARGV[4])
  if count > tonumber(ARGV[3]) then over = true end
end
"""

# Count the request against its rate limit (KEYS[3..]; none: no limit), refusing it over the limit
# with the state untouched; else GETDEL the state and, if it existed, leave a tombstone. Atomic, so
# exactly one caller wins; one round trip for the limit and the state.
_CONSUME = (
    _COUNT.replace("{first}", "3")
    + """if over then return ARGV[5] end
if ARGV[6] == '0' then return false end
local value = redis.call('GETDEL', KEYS[1])
if value then
  redis.call('SET', KEYS[2], '1', 'EX', ARGV[1])
  return value
end
if redis.call('EXISTS', KEYS[2]) == 1 then return ARGV[2] end
return false
"""
)


# Count the request against its rate limit (KEYS[2..]; none: no limit): -1 over the limit, nothing
# stored; else SET NX EX the state: 1 stored, 0 taken (draw another).
_ISSUE = (
    _COUNT.replace("{first}", "2")
    + """if over then return -1 end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 1 end
return 0
"""
)


@dataclass(frozen=True)
class PendingInstall:
    tenant_id: str
    project_id: str
    integration_type: str
    user_id: str
    user_name: str
    pkce_verifier: str | None = None
    binding_hash: str | None = None
    purpose: str = "install"  # or "admin_consent" (Microsoft's tenant-wide approval)
    reconnect_of: str | None = None  # the row installed when the flow started (a reconnect keeps it)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class StateStore:
    def __init__(self, redis: aioredis.Redis, *, ttl_seconds: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds

    async def issue(self, pending: PendingInstall, *, limit: Charge | None = None) -> str | None:
        """Store `pending` under a fresh state; returns the state to put in the authorize URL. With
        `limit`, the request is first counted against its rate limit in the same script (one round
        trip): None when the limit refused it (nothing stored)."""
        payload = json.dumps(asdict(pending))
        counted = limit or NO_LIMIT
        while True:
            state = secrets.token_urlsafe(32)
            answer = await self._redis.eval(  # type: ignore[misc]
                _ISSUE,
                1 + len(counted.keys),
                PREFIX + digest(state),
                *counted.keys,
                payload,
                self._ttl,
                counted.per_window,
                counted.expire_seconds,
            )
            if answer == -1:
                return None
            if answer == 1:
                return state
            counted = NO_LIMIT  # counted once; a clash only draws another state

    async def peek(self, state: str) -> PendingInstall | None:
        """The pending install under `state`, left in place (None: unknown, used, expired, malformed)."""
        if not _STATE_SHAPE.match(state):
            return None
        raw = await self._redis.get(PREFIX + digest(state))
        return None if raw is None else PendingInstall(**json.loads(raw))

    async def consume(self, state: str, *, limit: Charge | None = None) -> PendingInstall | str | None:
        """Atomically take the state: of N concurrent callers exactly one gets it. With `limit`, the
        request is first counted against its rate limit in the same script (one round trip).

        Returns the pending install, `REUSED` for a state taken before, `LIMITED` when the rate limit
        refused the request (nothing taken), or None (unknown, expired, malformed).
        """
        well_formed = bool(_STATE_SHAPE.match(state))
        if not well_formed and limit is None:
            return None
        key = digest(state if well_formed else "-")
        counted = limit or NO_LIMIT
        raw = await self._redis.eval(  # type: ignore[misc]
            _CONSUME,
            2 + len(counted.keys),
            PREFIX + key,
            USED_PREFIX + key,
            *counted.keys,
            self._ttl,
            REUSED,
            counted.per_window,
            counted.expire_seconds,
            LIMITED,
            int(well_formed),
        )
        if raw is None:
            return None
        if isinstance(raw, bytes):
            raw = raw.decode()
        if raw in (REUSED, LIMITED):
            return raw
        return PendingInstall(**json.loads(raw))
