"""Signatures of outgoing webhook deliveries, so receivers can tell our requests from forgeries.

The scheme follows what receivers already know from Slack (`v0=` over `v0:ts:body`, PROVIDERS.md §2.9)
and Stripe (`t=...,v1=...`): HMAC-SHA256 keyed with the endpoint's signing secret over
`"<timestamp>." + raw body bytes`. The timestamp is signed, so a receiver that checks it against
its clock (default window 300 s, like Slack) rejects replays of old deliveries; the delivery id lets
it drop duplicates inside that window. Several `v1=` values may appear (one per active secret while
a secret is being rotated); any match is enough.

The HMAC key is the secret string exactly as shown to the user (UTF-8, `whsec_` prefix included), so
receivers need no decoding step.

The same secret also signs the Standard Webhooks headers (`standard_headers`, DELIVERY.md): `webhook-id`,
`webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{ts}.{body}">`, keyed with
the bytes the secret encodes (`whsec_` + base64), so receivers' Standard Webhooks libraries verify
our deliveries with the secret as shown. Secrets issued before that scheme are `whsec_` + URL-safe
base64 without padding; they decode to their key the same way (`-`/`_` read as `+`/`/`), and a
receiver's Standard Webhooks library takes them re-encoded as `whsec_` + standard, padded base64.
"""

from __future__ import annotations

import base64
import binascii
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
STANDARD_ID_HEADER = "webhook-id"
STANDARD_TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"


def new_signing_secret() -> str:
    """A fresh secret in the Standard Webhooks form: `whsec_` + standard base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def standard_key(secret: str) -> bytes:
    """The HMAC key a Standard Webhooks receiver derives from `secret` (`whsec_` + base64).

    Raises:
        ValueError: the secret does not encode at least 16 bytes in base64 (either alphabet).
    """
    encoded = secret.removeprefix(SECRET_PREFIX).translate(str.maketrans("-_", "+/")).rstrip("=")
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the signing secret is not whsec_ + base64") from None
    if len(key) < 16:
        raise ValueError("the signing secret is too short for Standard Webhooks signing")
    return key


def standard_headers(secret: str, body: bytes, *, message_id: str, timestamp: int) -> dict[str, str]:
    """The Standard Webhooks headers of one message (DELIVERY.md).

    Args:
        secret: the endpoint's signing secret (`whsec_` + base64).
        body: the exact bytes that will be sent.
        message_id: the same on every retry of one message, so receivers can drop duplicates.
        timestamp: Unix seconds at sending time.

    Returns:
        `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256>`.

    Raises:
        ValueError: an empty message id, or a secret that is not `whsec_` + base64.
    """
    if not message_id:
        raise ValueError("a message id is required")
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(standard_key(secret), signed, hashlib.sha256).digest()
    return {
        STANDARD_ID_HEADER: message_id,
        STANDARD_TIMESTAMP_HEADER: str(timestamp),
        STANDARD_SIGNATURE_HEADER: "v1," + base64.b64encode(digest).decode(),
    }


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


def delivery_headers(secret: str, body: bytes, *, message_id: str, timestamp: int) -> dict[str, str]:
    """Both signatures of one webhook delivery: `X-TMS-Signature` (and its companions) and the
    Standard Webhooks headers, from the one signing secret, with one id that retries keep.

    Raises:
        ValueError: as `sign` and `standard_headers` do.
    """
    headers = sign(secret, body, timestamp=timestamp, delivery_id=message_id)
    return headers | standard_headers(secret, body, message_id=message_id, timestamp=timestamp)


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
