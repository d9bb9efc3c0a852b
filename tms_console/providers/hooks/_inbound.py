"""Small pieces the providers' inbound readers share: the JSON body, and the freshness rule."""

from __future__ import annotations

import json
from typing import Any

from tms_console.domain.inbound import FRESH_SECONDS, InboundRefused
from tms_console.security.provider_signatures import is_fresh


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object (after its signature was checked); anything else is refused."""
    try:
        payload = json.loads(body)
    except ValueError:  # also UnicodeDecodeError
        raise InboundRefused("malformed") from None
    if not isinstance(payload, dict):
        raise InboundRefused("malformed")
    return payload


def require_fresh(timestamp: object, now: float) -> None:
    """Refuse a call sent more than FRESH_SECONDS from now (a replay of a captured request)."""
    if not is_fresh(
        timestamp if isinstance(timestamp, str | int | float) else None, now=now, window=FRESH_SECONDS
    ):
        raise InboundRefused("stale")


def text(value: object) -> str:
    """A provider id as text ("" for anything that is not a short string or integer)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    value = str(value)
    return value if 0 < len(value) <= 100 else ""


def obj(value: object) -> dict[str, Any]:
    """A nested JSON object of a provider's payload ({} for anything else)."""
    return value if isinstance(value, dict) else {}
