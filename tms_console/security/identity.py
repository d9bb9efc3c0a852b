"""Agent identity from a verified JWT. The only place that decodes or signs agent tokens."""

from __future__ import annotations

import functools
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import jwt
from jwt.algorithms import HMACAlgorithm, RSAAlgorithm

from tms_console.settings import Settings

# "service" is the TMS backend itself (it posts ticket events); it is not a person and has no console.
Role = Literal["agent", "admin", "service"]
MAX_TOKEN_BYTES = 8192
_HS = ["HS256"]
_RS = ["RS256"]


class _HS256(HMACAlgorithm):
    """HS256 whose key checks (refusing a PEM, SSH, DER or JWK key as a secret) run once per key, not once
    per token: they were a tenth of the CPU of an install URL."""

    def __init__(self) -> None:
        super().__init__(HMACAlgorithm.SHA256)
        self._prepared = functools.lru_cache(maxsize=4)(super().prepare_key)

    def prepare_key(self, key: str | bytes) -> bytes:
        return self._prepared(key)


class _RS256(RSAAlgorithm):
    """RS256 whose public key is parsed once, not once per token."""

    def __init__(self) -> None:
        super().__init__(RSAAlgorithm.SHA256)
        self._prepared = functools.lru_cache(maxsize=4)(super().prepare_key)

    def prepare_key(self, key: Any) -> Any:
        return self._prepared(key)


def _decoder() -> jwt.PyJWT:
    """PyJWT with its own HS256 and RS256 (every other algorithm as PyJWT has it): verification as
    `jwt.decode` does it, with the key prepared once."""
    decoder = jwt.PyJWT()
    # `_jws` is private: PyJWT (pinned) offers no public way to give a PyJWT its own algorithms. The unit
    # test `test_keys_prepared_once_...` fails if this stops taking effect.
    for name, algorithm in (("HS256", _HS256()), ("RS256", _RS256())):
        decoder._jws.unregister_algorithm(name)
        decoder._jws.register_algorithm(name, algorithm)
    return decoder


_DECODER = _decoder()


class AuthError(Exception):
    """The token is missing, malformed, expired, or not for us. The message is safe to log."""


@dataclass(frozen=True)
class Identity:
    user_id: str
    name: str
    tenant_id: uuid.UUID
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_service(self) -> bool:
        return self.role == "service"


def verify_token(token: str, settings: Settings) -> Identity:
    """Verify signature (one algorithm family), exp/nbf, issuer and audience; return the identity.

    Header-supplied keys (`jwk`, `jku`, `x5u`) are never used: the key comes from settings only.
    """
    if not token or len(token) > MAX_TOKEN_BYTES:
        raise AuthError("token missing or too large")
    key, algorithms = _verification_key(settings)
    try:
        claims = _DECODER.decode(
            token,
            key,
            algorithms=algorithms,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "sub", "iss", "aud"]},
            leeway=5,
        )
    except jwt.PyJWTError as exc:
        raise AuthError(f"invalid token: {type(exc).__name__}") from None
    return _identity(claims)


def _verification_key(settings: Settings) -> tuple[str, list[str]]:
    if settings.jwt_public_key:
        return settings.jwt_public_key, _RS
    assert settings.jwt_secret is not None
    return settings.jwt_secret.get_secret_value(), _HS


def _identity(claims: dict[str, object]) -> Identity:
    try:
        tenant_id = uuid.UUID(str(claims["tenant_id"]))
    except (KeyError, ValueError):
        raise AuthError("tenant_id missing or malformed") from None
    role = claims.get("role", "agent")
    if role not in ("agent", "admin", "service"):
        raise AuthError("role not recognised")
    sub = str(claims["sub"])
    name = str(claims.get("name") or sub)[:200]
    return Identity(user_id=sub, name=name, tenant_id=tenant_id, role=role)  # type: ignore[arg-type]


def issue_token(identity: Identity, settings: Settings, *, ttl_seconds: int = 8 * 3600) -> str:
    """Sign a token as the TMS would (dev login and tests; HS256 deployments only)."""
    if settings.jwt_secret is None:
        raise AuthError("this deployment verifies RS256 tokens and cannot issue any")
    now = int(time.time())
    claims = {
        "sub": identity.user_id,
        "name": identity.name,
        "tenant_id": str(identity.tenant_id),
        "role": identity.role,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")
