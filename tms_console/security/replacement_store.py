"""Replacements waiting for the agent's word: a reinstall that reached another provider account, held
sealed in Redis under a one-time id until the agent confirms or refuses it, or it expires.

Only the id's SHA-256 names the Redis key, and the installation (its tokens) is sealed with the
console's keyring, its AAD naming the id and everything the replacement is bound to (tenant, project,
type, agent, row): a Redis dump alone neither reveals the tokens nor lets one be moved to another row.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis

from tms_console.domain.values import Installation, Sealed
from tms_console.security.keyring import DecryptError, configured_keyring
from tms_console.security.state_store import digest

PREFIX = "replace:"
_ID_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True)
class Held:
    """Who may decide, about which row, and the two accounts by their display names (never secrets)."""

    tenant_id: str
    project_id: str
    integration_type: str
    user_id: str
    user_name: str
    row_id: str
    expected: str  # the account installed now
    found: str  # the account the reinstall reached
    expires_at: float  # epoch seconds: after this, confirming is refused

    @property
    def expired(self) -> bool:
        return time.time() >= self.expires_at


class ReplacementStore:
    def __init__(self, redis: aioredis.Redis, *, keep_seconds: int) -> None:
        self._redis = redis
        self._keep = keep_seconds  # longer than the replacement's life: the expiry job still finds it

    async def hold(self, held: Held, install: Installation) -> str:
        """Store the sealed installation under a fresh one-time id; returns the id."""
        replacement_id = secrets.token_urlsafe(32)
        payload: dict[str, object] = {
            "meta": install.meta,
            "secrets": install.secrets,
            "expires_at": install.expires_at.isoformat() if install.expires_at else None,
            "details_later": install.details_later,
        }
        sealed = configured_keyring().seal(payload, aad=_aad(digest(replacement_id), held))
        record = asdict(held) | {
            "key_id": sealed.key_id,
            "nonce": base64.b64encode(sealed.nonce).decode(),
            "ciphertext": base64.b64encode(sealed.ciphertext).decode(),
        }
        await self._redis.set(PREFIX + digest(replacement_id), json.dumps(record), nx=True, ex=self._keep)
        return replacement_id

    @staticmethod
    def handle(replacement_id: str) -> str:
        """What a job may know of a replacement (enough to drop it, not to confirm it): the id's digest."""
        return digest(replacement_id)

    async def peek(self, replacement_id: str) -> Held | None:
        """What is held under the id, left in place (None: unknown, taken, malformed)."""
        if not isinstance(replacement_id, str) or not _ID_SHAPE.match(replacement_id):
            return None
        raw = await self._redis.get(PREFIX + digest(replacement_id))
        return None if raw is None else _held(json.loads(raw))

    async def take(self, replacement_id: str) -> tuple[Held, Installation | None] | None:
        """Atomically take the replacement (GETDEL): of concurrent callers exactly one gets it. The
        installation is None when it can no longer be opened (its key was retired)."""
        if not isinstance(replacement_id, str) or not _ID_SHAPE.match(replacement_id):
            return None
        return await self.take_by_handle(digest(replacement_id))

    async def take_by_handle(self, handle: str) -> tuple[Held, Installation | None] | None:
        """`take`, by the id's digest (the expiry job's)."""
        raw = await self._redis.getdel(PREFIX + handle)
        if raw is None:
            return None
        record = json.loads(raw)
        held = _held(record)
        sealed = Sealed(
            record["key_id"], base64.b64decode(record["nonce"]), base64.b64decode(record["ciphertext"])
        )
        try:
            payload = configured_keyring().open(sealed, aad=_aad(handle, held))
        except DecryptError:
            return held, None
        expires = payload.get("expires_at")
        install = Installation(
            meta=dict(payload["meta"]),  # type: ignore[call-overload]
            secrets=dict(payload["secrets"]),  # type: ignore[call-overload]
            expires_at=datetime.fromisoformat(expires) if isinstance(expires, str) else None,
            details_later=payload.get("details_later") is True,
        )
        return held, install


def _held(record: dict[str, Any]) -> Held:
    return Held(**{name: record[name] for name in Held.__dataclass_fields__})


def _aad(handle: str, held: Held) -> bytes:
    return ("replacement:" + handle + ":" + json.dumps(asdict(held), sort_keys=True)).encode()
