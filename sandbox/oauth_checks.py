"""Client authentication (RFC 6749 §2.3) and PKCE (RFC 7636), as every sandbox provider checks them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Collection, Mapping
from urllib.parse import unquote_plus

S256_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url(SHA-256) without padding
VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")  # RFC 7636 §4.1


class TwoClientAuths(ValueError):
    """The request authenticates the client in more than one way (RFC 6749 §2.3 forbids it)."""


def client_credentials(
    authorization: str, params: Mapping[str, str], methods: Collection[str]
) -> tuple[str, str]:
    """Client id and secret from HTTP Basic or from the request's parameters, whichever `methods` allow.

    Args:
        authorization: the request's Authorization header ("" when absent).
        params: the token request's parameters (form body, or query string for Meta).
        methods: "basic" and/or "body".

    Returns:
        `(client_id, client_secret)`; empty strings for whatever is missing or malformed.

    Raises:
        TwoClientAuths: Basic is used and the parameters carry a secret or another client id.
    """
    scheme, _, value = authorization.partition(" ")
    if "basic" not in methods or scheme.lower() != "basic":
        if "body" not in methods:
            return "", ""
        return params.get("client_id", ""), params.get("client_secret", "")
    client_id, secret = _basic(value.strip())
    if "client_secret" in params or params.get("client_id", client_id) != client_id:
        raise TwoClientAuths("Basic and body credentials")
    return client_id, secret


def _basic(value: str) -> tuple[str, str]:
    """Decode `base64(urlencode(id) ":" urlencode(secret))`: RFC 6749 §2.3.1 form-encodes both parts."""
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except ValueError:  # binascii.Error, UnicodeDecodeError, non-ASCII input
        return "", ""
    client_id, _, secret = decoded.partition(":")
    return unquote_plus(client_id), unquote_plus(secret)


def secret_matches(given: str, expected: str) -> bool:
    """Constant-time comparison of a client secret."""
    return hmac.compare_digest(given.encode(), expected.encode())


def s256(verifier: str) -> str:
    """The S256 code challenge of a verifier: base64url(SHA-256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def verifier_matches(verifier: str, challenge: str) -> bool:
    """A well-formed verifier (43-128 unreserved characters) whose S256 challenge is `challenge`."""
    return bool(VERIFIER.fullmatch(verifier)) and hmac.compare_digest(s256(verifier), challenge)
