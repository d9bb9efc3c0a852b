"""The public OAuth callback, and the console's install entry that binds a flow to the browser."""

from __future__ import annotations

import html
import secrets
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tms_console.api.deps import client_ip
from tms_console.security import redirects
from tms_console.security.session import (
    BINDING_COOKIE,
    BINDING_COOKIE_PATH,
    identity_from_cookie_header,
)
from tms_console.services import install
from tms_console.services.errors import ServiceError
from tms_console.services.reasons import Reason, describe
from tms_console.settings import get_settings

router = APIRouter(tags=["oauth"])

Short = Annotated[str | None, Query(max_length=2048)]
NO_REFERRER = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


@router.get("/api/public/integrations/{integration_type}/callback", include_in_schema=True)
async def oauth_callback(
    request: Request,
    integration_type: str,
    code: Short = None,
    state: Short = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
) -> Response:
    """Where providers send the browser back. Always a 303 to the console, or a plain error page."""
    outcome = await install.complete_callback(
        install.CallbackInput(
            integration_type=integration_type[:50],
            state=state,
            code=code,
            error=error,
            binding=request.cookies.get(BINDING_COOKIE),
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
        )
    )
    if outcome.redirect_url is None:
        response: Response = _plain_error(outcome.reason, outcome.status_code)
    else:
        response = RedirectResponse(outcome.redirect_url, status_code=303, headers=NO_REFERRER)
    response.delete_cookie(BINDING_COOKIE, path=BINDING_COOKIE_PATH)
    return response


def _plain_error(reason: Reason, status_code: int) -> HTMLResponse:
    message = html.escape(describe(reason, "The provider"))
    console = html.escape(get_settings().public_base_url + "/")
    body = (
        "<!doctype html><meta charset='utf-8'><title>Installation failed</title>"
        "<body style='font-family:system-ui;max-width:40rem;margin:4rem auto'>"
        f"<h1>Installation could not be completed</h1><p id='reason'>{message}</p>"
        f"<p><a href='{console}'>Back to the console</a></p></body>"
    )
    return HTMLResponse(body, status_code=status_code, headers=NO_REFERRER)


@router.get("/api/console/integrations/{integration_type}/install", include_in_schema=False)
async def console_install(request: Request, integration_type: str, project_id: str) -> Response:
    """Install started from the console: bind the flow to this browser, then go to the provider."""
    identity = identity_from_cookie_header(request.headers.get("cookie", ""))
    if identity is None:
        return RedirectResponse(get_settings().public_base_url + "/login", status_code=303)
    binding = secrets.token_urlsafe(32)
    try:
        url = await install.start_install(
            identity, project_id=project_id, integration_type=integration_type, binding=binding
        )
    except ServiceError as exc:
        try:
            target = redirects.project_page(
                project_id, status="error", integration=integration_type[:50], reason=exc.reason.value
            )
        except ValueError:
            target = get_settings().public_base_url + "/"
        return RedirectResponse(target, status_code=303)
    response = RedirectResponse(url, status_code=303, headers=NO_REFERRER)
    response.set_cookie(
        BINDING_COOKIE,
        binding,
        max_age=get_settings().oauth_state_ttl_seconds,
        path=BINDING_COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=get_settings().session_cookie_secure,
    )
    return response
