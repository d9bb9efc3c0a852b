"""The `TOKEN_ENCRYPTION_KEYS` format: an ordered, comma-separated list of `kid:base64(32 bytes)`.

Parsed here, below both settings (which refuses a malformed list at start) and security (which
encrypts with it), so neither has to import the other.
"""

from __future__ import annotations

import base64
import binascii
import re

_KID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


class KeyringError(ValueError):
    """The configured key list is missing or malformed (the message never contains key material)."""


def parse_key_spec(spec: str) -> tuple[tuple[str, bytes], ...]:
    """`"new:<b64>,old:<b64>"` -> `(("new", key), ("old", key))`; the first encrypts, all decrypt.

    Raises:
        KeyringError: naming the entry that is wrong, never its key material.
    """
    entries = [part.strip() for part in spec.split(",") if part.strip()]
    if not entries:
        raise KeyringError("TOKEN_ENCRYPTION_KEYS is empty")
    keys: dict[str, bytes] = {}
    for position, entry in enumerate(entries, start=1):
        kid, sep, encoded = entry.partition(":")
        if not sep or not _KID.match(kid):
            raise KeyringError(f"TOKEN_ENCRYPTION_KEYS entry {position}: expected kid:base64")
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise KeyringError(f"key {kid!r}: not valid base64") from None
        if len(key) != 32:
            raise KeyringError(f"key {kid!r}: must decode to 32 bytes, got {len(key)}")
        if kid in keys:
            raise KeyringError(f"key {kid!r}: listed twice")
        keys[kid] = key
    return tuple(keys.items())
