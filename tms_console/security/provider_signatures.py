"""Checking the signatures providers put on the calls they send us (PROVIDERS.md §1.9, §2.9, §6.6).

Every comparison is constant-time; every check answers a plain bool and never raises on hostile input.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def matches_hmac(given: str, *, secret: str, message: bytes, prefix: str) -> bool:
    """Whether `given` is `prefix` + hex(HMAC-SHA256(secret, message)) (Slack `v0=`, Meta `sha256=`)."""
    if not secret or not given.isascii():
        return False
    expected = prefix + hmac_sha256_hex(secret, message)
    return hmac.compare_digest(given.encode(), expected.encode())


def matches_ed25519(signature_hex: str, *, public_key_hex: str, message: bytes) -> bool:
    """Whether `signature_hex` is an Ed25519 signature of `message` by `public_key_hex` (Discord)."""
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
        key.verify(bytes.fromhex(signature_hex), message)
    except (ValueError, InvalidSignature):
        return False
    return True


def is_fresh(timestamp: str | float | int | None, *, now: float, window: float) -> bool:
    """Whether a provider's Unix timestamp is within `window` seconds of `now` (either way)."""
    try:
        sent = float(timestamp) if isinstance(timestamp, str | int | float) else None
    except ValueError:
        return False
    return sent is not None and sent == sent and abs(now - sent) <= window  # sent == sent: not NaN


def body_id(*parts: bytes) -> str:
    """A stable id for a signed call that carries none of its own (a replay has the same one)."""
    return hashlib.sha256(b"\x00".join(parts)).hexdigest()
