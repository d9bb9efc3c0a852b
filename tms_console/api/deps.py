"""Request -> identity, and service errors -> HTTP. Only adapters; rules live in services/."""

from __future__ import annotations

import logging

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse

from tms_console.security.identity import AuthError, Identity, verify_token
from tms_console.security.session import SESSION_COOKIE
from tms_console.services.errors import ServiceError
from tms_console.settings import get_settings

logger = logging.getLogger("tms_console.api")


def bearer_identity(request: Request) -> Identity:
    """Identity from `Authorization: Bearer` (API clients) or the session cookie (the console).

    A token in the query string is never accepted.
    """
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not (scheme.lower() == "bearer" and token):
        token = request.cookies.get(SESSION_COOKIE, "")
    try:
        return verify_token(token.strip(), get_settings())
    except AuthError as exc:
        logger.info("auth_rejected reason=%s", exc)
        raise HTTPException(
            status_code=401, detail="not authenticated", headers={"WWW-Authenticate": "Bearer"}
        ) from None


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def service_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return JSONResponse(
        status_code=exc.status_code, content={"detail": exc.detail, "reason": exc.reason.value}
    )
