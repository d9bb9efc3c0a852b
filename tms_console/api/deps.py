"""Request -> identity, and service errors -> HTTP. Only adapters; rules live in services/."""

from __future__ import annotations

import ipaddress
import logging

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from tms_console.domain.errors import ServiceError, TooManyRequests, WrongAccount
from tms_console.persistence.redis import get_redis
from tms_console.security.identity import AuthError, Identity, verify_token
from tms_console.security.ratelimit import Charge, Limit, RateLimiter, charge
from tms_console.security.session import SESSION_COOKIE
from tms_console.services.audit import Origin
from tms_console.services.unit_of_work import outage
from tms_console.settings import get_settings

logger = logging.getLogger("tms_console.api")


async def bearer_identity(request: Request) -> Identity:
    """A person's identity (agent or admin) from `Authorization: Bearer` (API clients) or the session
    cookie (the console). A service token is refused here: it may only post events.

    A token in the query string is never accepted. A coroutine, as `service_identity` is: FastAPI would
    run a plain function in its thread pool, a longer trip than the verification itself.
    """
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not (scheme.lower() == "bearer" and token):
        token = request.cookies.get(SESSION_COOKIE, "")
    identity = _verified(token)
    if identity.is_service:
        raise _not_allowed()
    return identity


async def service_identity(request: Request) -> Identity:
    """The TMS backend's identity (role `service`) from `Authorization: Bearer`; people are refused (403).

    A coroutine, so FastAPI runs it on the event loop: verifying an HS256 token takes microseconds, less
    than the trip to the thread pool it makes for a plain function (the intake calls it on every event).
    """
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    identity = _verified(token if scheme.lower() == "bearer" else "")
    if not identity.is_service:
        raise _not_allowed()
    return identity


def _verified(token: str) -> Identity:
    try:
        return verify_token(token.strip(), get_settings())
    except AuthError as exc:
        logger.info("auth_rejected reason=%s", exc)
        raise HTTPException(
            status_code=401, detail="not authenticated", headers={"WWW-Authenticate": "Bearer"}
        ) from None


def _not_allowed() -> HTTPException:
    logger.info("auth_rejected reason=role")
    return HTTPException(status_code=403, detail="not allowed")


def client_ip(request: Request) -> str | None:
    """The client's address as seen through TRUSTED_PROXY_COUNT reverse proxies.

    Each trusted proxy appends the address it received from to X-Forwarded-For, so the client is the
    N-th entry from the right; entries further left are whatever the client sent and are ignored.
    """
    peer = request.client.host if request.client else None
    hops = get_settings().trusted_proxy_count
    if hops <= 0:
        return peer
    forwarded = [
        part.strip()
        for header in request.headers.getlist("x-forwarded-for")
        for part in header.split(",")
        if part.strip()
    ]
    if not forwarded:
        return peer
    candidate = forwarded[-hops] if len(forwarded) >= hops else forwarded[0]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer


def request_origin(request: Request) -> Origin:
    """Where the request came from, for the audit trail."""
    return Origin(client_ip(request), request.headers.get("user-agent"))


async def enforce_rate_limit(request: Request, bucket: str, per_minute: int, who: Identity | None) -> None:
    """Count this request per client IP and per user.

    Raises:
        TooManyRequests: over the limit.
        Unavailable: Redis is down (the route could not do its work anyway).
    """
    try:
        wait = await RateLimiter(get_redis()).hit(Limit(bucket, per_minute), _subjects(request, who))
    except RedisError:
        raise outage("redis") from None
    if wait is not None:
        logger.info("rate_limited bucket=%s", bucket)
        raise TooManyRequests(wait)


def rate_charge(request: Request, bucket: str, per_minute: int, who: Identity | None) -> Charge:
    """This request's count per client IP and per user, for a script that counts it with other work
    (the callback's state consumption); the same keys `enforce_rate_limit` counts."""
    return charge(Limit(bucket, per_minute), _subjects(request, who))


def _subjects(request: Request, who: Identity | None) -> list[str]:
    subjects = [f"ip:{client_ip(request)}"]
    if who is not None:
        subjects.append(f"user:{who.tenant_id}:{who.user_id}")
    return subjects


async def service_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
    content = {"detail": exc.detail, "reason": exc.reason.value}
    if isinstance(exc, WrongAccount):  # the one-time id the agent confirms or refuses the replacement with
        content["replacement"] = exc.replacement_id
    return JSONResponse(status_code=exc.status_code, content=content, headers=headers)
