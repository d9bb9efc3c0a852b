"""What a provider's renderer makes of a ticket event: the message content and what threading needs.

Rendering is pure (no HTTP, no storage). Where the message goes (the channel, chat, phone number or
URL picked at install) and how it is sent are the delivery step's: it adds them to `payload`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ThreadMode(StrEnum):
    """How a platform keeps the messages of one ticket together."""

    NONE = "none"  # no threads (WhatsApp, plain webhooks): every message stands alone
    KEYED = "keyed"  # the request names the thread itself (Google Chat `thread.threadKey`)
    REPLY_TO_FIRST = "reply_to_first"  # later messages need the first message's handle, which delivery stores


@dataclass(frozen=True)
class Threading:
    """What the delivery step needs to put a ticket's later messages in the thread of its first one.

    `key` is the same for every event of one ticket (delivery stores the platform's handle under it).
    For REPLY_TO_FIRST, `handle_field` says where the stored handle goes in the next request: a payload
    field (`thread_ts`), a dotted path (`reply_parameters.message_id`), or for a URL/query placement
    a name the delivery step maps (`replies_of` for Teams' `.../messages/{id}/replies`, `thread_id`
    for Discord's `?thread_id=`). `handle_from` names where the first message's answer carries it.
    """

    mode: ThreadMode
    key: str = ""
    handle_field: str = ""
    handle_from: str = ""


NO_THREAD = Threading(ThreadMode.NONE)


@dataclass(frozen=True)
class RenderedMessage:
    """One ticket event as one platform's message.

    Attributes:
        payload: the JSON body in the platform's native format, without routing fields (an object,
            except that a webhook's own template may produce any JSON value).
        threading: how later events of the same ticket join this one.
        query: query parameters the platform expects beside the body (e.g. Google Chat's
            `messageReplyOption`).
        message_id: the same on every attempt of one delivery (the delivery step sets it to the
            delivery's id); receivers that drop duplicates key on it (the webhook's `webhook-id`).
    """

    payload: Any
    threading: Threading = NO_THREAD
    query: Mapping[str, str] = field(default_factory=dict)
    message_id: str = ""

    def body(self) -> bytes:
        """The payload as the exact bytes to send (and to sign)."""
        return json.dumps(self.payload, ensure_ascii=False, separators=(",", ":")).encode()


class Outcome(StrEnum):
    """What one delivery attempt came to, as the retry policy needs it (DELIVERY.md)."""

    DELIVERED = "delivered"  # any 2xx (and `ok: true` where the platform says so)
    RETRY = "retry"  # worth trying again later: 5xx, timeouts, connection errors, 429 (with retry_after)
    REJECTED = "rejected"  # cannot succeed as sent: a 4xx meaning bad request; the delivery fails at once
    AUTH_FAILED = "auth_failed"  # our credentials or target are gone: the integration needs a reconnect
    GONE = "gone"  # a webhook answered 410: the endpoint asks to be removed


@dataclass(frozen=True)
class SendResult:
    """One attempt's result, safe to store: never a token, never a URL's secret part.

    Attributes:
        outcome: what the attempt came to.
        http_status: the platform's HTTP status, when an answer came.
        reason: a stable reason code (a `Reason` value, or the platform's own error word such as
            Slack's `channel_not_found`), shown in the delivery log.
        retry_after: seconds the platform asked us to wait (429 `Retry-After` or the body's figure).
        thread_handle: the platform's handle of the message just posted, when it opened a ticket's thread
            (Slack `ts`, Telegram `message_id`, Teams message id, Discord thread id); stored per
            integration and ticket so later events go into that thread.
        detail: a short, secret-free excerpt of the answer (at most 1 KiB) for the delivery log.
    """

    outcome: Outcome
    http_status: int | None = None
    reason: str = ""
    retry_after: float | None = None
    thread_handle: str = ""
    detail: str = ""
