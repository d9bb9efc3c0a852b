"""What a provider calling us comes to: an answer in the provider's own terms and, maybe, a status change.

A provider hook reads a call (headers and the raw body, as signed) and either refuses it
(`InboundRefused`, nothing changes) or returns `Verified`: the answer the provider expects, the id that
makes a repeat of the same call recognisable, and what happened to our installs, if anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from tms_console.domain.status import IntegrationStatus

FRESH_SECONDS = 300  # signed calls older (or newer) than this are refused as stale
JSON = "application/json"


@dataclass(frozen=True)
class Reply:
    """An HTTP answer to the provider."""

    status: int = 200
    body: str = ""
    media_type: str = JSON


@dataclass(frozen=True)
class StatusEvent:
    """A provider event that moves our installs to another status.

    `match` holds the `meta` values that name the installs it is about (e.g. a Slack workspace and
    app); every install whose meta contains all of them moves. Empty for a per-install endpoint.
    """

    to: IntegrationStatus
    reason: str
    match: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Verified:
    """An authenticated, fresh provider call."""

    event_id: str  # the provider's id of the call, or a hash of the signed body: repeats share it
    reply: Reply = Reply()
    events: tuple[StatusEvent, ...] = ()


class InboundRefused(Exception):
    """The call is not from the provider, or is stale or malformed; `reason` is a short code for logs."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
