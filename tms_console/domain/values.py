"""Small value objects that cross layers: what connecting produced, a pickable target, a sealed bundle."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# What an integration shows (`meta`, stored in the row) and what it keeps secret (the encrypted bundle).
Meta = dict[str, Any]
Secrets = dict[str, Any]


@dataclass
class Installation:
    """What connecting produced: shown (`meta`) and secret (`secrets`) halves, and when it expires."""

    meta: Meta = field(default_factory=dict)
    secrets: Secrets = field(default_factory=dict)
    expires_at: datetime | None = None
    # Display-only details still to fetch: the save that stores it queues the worker's `install_details` job.
    details_later: bool = False


@dataclass(frozen=True)
class Target:
    """Something an agent can pick for notifications to go to (a channel, a space, a chat)."""

    id: str
    name: str
    group: str = ""  # e.g. the Teams team a channel belongs to
    extra: Mapping[str, str] = field(default_factory=dict)  # stored in `meta` when picked


@dataclass(frozen=True)
class Sealed:
    """An encrypted credential bundle: the key it was sealed with, its nonce and its ciphertext."""

    key_id: str
    nonce: bytes
    ciphertext: bytes


@dataclass(frozen=True)
class ConnectContext:
    """What a connect hook may know about this deployment and this install (never the database).

    `client_secret` is the app's own secret, for providers whose connect step redeems a code.
    """

    endpoint_id: str  # random, names this install's public inbound URL
    inbound_url: str
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
