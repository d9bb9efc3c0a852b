"""Signatures of outgoing webhook deliveries, so receivers can tell our requests from forgeries.

The scheme follows what receivers already know from Slack (`v0=` over `v0:ts:body`, PROVIDERS.md §2.9)
and Stripe (`t=...,v1=...`): HMAC-SHA256 keyed with the endpoint's signing secret over
`"<timestamp>." + raw body bytes`. The timestamp is signed, so a receiver that checks it against
its clock (default window 300 s, like Slack) rejects replays of old deliveries; the delivery id lets
it drop duplicates inside that window. Several `v1=` values may appear (one per active secret while
a secret is being rotated); any match is enough.

The HMAC key is the secret string exactly as shown to the user (UTF-8, `whsec_` prefix included), so
receivers need no decoding step.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping

SIGNATURE_HEADER = "X-TMS-Signature"
TIMESTAMP_HEADER = "X-TMS-Timestamp"
DELIVERY_HEADER = "X-TMS-Delivery"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a label, not a secret
DEFAULT_TOLERANCE = 300
MAX_SIGNATURE_HEADER = 1024  # a few v1= values; anything longer is not ours


def new_signing_secret() -> str:
    """A fresh secret: `whsec_` + 32 random bytes, base64url without padding (256 bits)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _digest(secret: str, body: bytes, timestamp: int) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, *, timestamp: int, delivery_id: str) -> dict[str, str]:
    """The headers that authenticate one delivery.

    Args:
        secret: the endpoint's signing secret.
        body: the exact bytes that will be sent.
        timestamp: Unix seconds at sending time (also signed).
        delivery_id: unique per delivery (the same on retries of it), for receiver-side dedup.

    Returns:
        `X-TMS-Signature: t=<ts>,v1=<hex>`, `X-TMS-Timestamp` and `X-TMS-Delivery`.
    """
    if not secret:
        raise ValueError("a signing secret is required")
    return {
        SIGNATURE_HEADER: f"t={timestamp},v1={_digest(secret, body, timestamp)}",
        TIMESTAMP_HEADER: str(timestamp),
        DELIVERY_HEADER: delivery_id,
    }


def verify(
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    now: int | float,
    tolerance: int = DEFAULT_TOLERANCE,
) -> bool:
    """The receiving side: whether `headers` carry a valid, fresh signature of `body`.

    Never raises on malformed input (missing or garbled header, non-numeric timestamp): False.

    Args:
        secret: the endpoint's signing secret.
        body: the raw request body, before any JSON parsing.
        headers: request headers, any capitalization.
        now: the receiver's clock, Unix seconds.
        tolerance: accepted clock difference either way, in seconds.
    """
    lowered = {str(name).lower(): value for name, value in headers.items()}
    header = lowered.get(SIGNATURE_HEADER.lower())
    if not secret or not isinstance(header, str) or len(header) > MAX_SIGNATURE_HEADER:
        return False
    timestamps, candidates = [], []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            candidates.append(value)
    if len(timestamps) != 1 or not _is_ascii_digits(timestamps[0]) or not candidates:
        return False
    timestamp = int(timestamps[0])
    if abs(now - timestamp) > tolerance:
        return False
    expected = _digest(secret, body, timestamp).encode()
    # Compare against every candidate (no early exit), each in constant time.
    matches = [hmac.compare_digest(expected, candidate.encode()) for candidate in candidates]
    return any(matches)


def _is_ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()  # "²".isdigit() is True, int("²") fails


# Shown to users in the console; tests/unit/test_signing.py exec()s it against signed samples.
VERIFY_RECIPE = '''\
import hashlib, hmac, time

def verify_tms_signature(secret, body, headers, tolerance=300):
    """body: the raw request bytes; headers: the request headers (a dict)."""
    header = {k.lower(): v for k, v in headers.items()}.get("x-tms-signature", "")
    parts = [p.strip().partition("=") for p in header.split(",")]
    timestamps = [v for k, _, v in parts if k == "t"]
    signatures = [v for k, _, v in parts if k == "v1"]
    if len(timestamps) != 1 or not (timestamps[0].isascii() and timestamps[0].isdigit()):
        return False
    if abs(time.time() - int(timestamps[0])) > tolerance:
        return False  # too old (or clock skew): possibly a replay
    message = timestamps[0].encode() + b"." + body
    expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected.encode(), s.encode()) for s in signatures)
'''
