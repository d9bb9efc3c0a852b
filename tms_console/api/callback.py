"""The public OAuth callback, and the console's install entry that binds a flow to the browser."""

from __future__ import annotations

import html
import re
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tms_console.api.deps import client_ip, enforce_rate_limit, rate_charge
from tms_console.domain.errors import ServiceError, TooManyRequests, Unavailable
from tms_console.domain.reasons import Reason, describe
from tms_console.logs import current
from tms_console.security import redirects
from tms_console.security.ratelimit import Charge
from tms_console.security.session import (
    BINDING_COOKIE,
    BINDING_COOKIE_PATH,
    identity_from_cookie_header,
)
from tms_console.services import install
from tms_console.settings import get_settings

router = APIRouter(tags=["oauth"])

NO_REFERRER = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
CALLBACK_PATH = "/api/public/integrations/{integration_type}/callback"
INTEGRATION_TYPE = re.compile(r"[a-z0-9_]{1,50}")
# The parameters a callback reads, with their longest accepted value; any other one is ignored.
PARAMETERS = {"code": 2048, "state": 2048, "error": 256, "error_description": 2048, "admin_consent": 16}


def _documented_parameters() -> list[dict[str, Any]]:
    """The callback reads its parameters itself (a malformed one gets the plain page, not FastAPI's
    JSON 422, and the request skips FastAPI's per-parameter validation: issue 12); documented here."""
    path = {"type": "string", "maxLength": 50, "pattern": f"^{INTEGRATION_TYPE.pattern}$"}
    return [
        {"name": "integration_type", "in": "path", "required": True, "schema": path},
        *(
            {"name": name, "in": "query", "required": False, "schema": {"type": "string", "maxLength": limit}}
            for name, limit in PARAMETERS.items()
        ),
    ]


HTML_PAGE = {"content": {"text/html": {"schema": {"type": "string"}}}}


@router.get(
    CALLBACK_PATH,
    status_code=303,
    response_class=RedirectResponse,
    responses={
        303: {"description": "To the console page, with the outcome in its query"},
        400: {"description": "Unknown, used or malformed state or parameters: a plain page", **HTML_PAGE},
        429: {"description": "Too many callbacks (see Retry-After): a plain page", **HTML_PAGE},
        503: {"description": "Redis is down: a plain page; reload to retry", **HTML_PAGE},
    },
    openapi_extra={"parameters": _documented_parameters()},
)
async def oauth_callback(request: Request) -> Response:
    """Where providers send the browser back. Always a 303 to the console, or a plain error page.

    Any other parameter (`return_to`, `project_id`, ...) is ignored: where the browser goes comes
    from the stored state only.
    """
    integration_type = request.path_params["integration_type"]
    query = request.query_params
    values = {name: query.get(name) or None for name in PARAMETERS}
    if not INTEGRATION_TYPE.fullmatch(integration_type):
        install.log_callback(Reason.INVALID_STATE, "-")  # not logged: it may hold anything
        return _plain_error(Reason.INVALID_STATE, 400)
    if any(value is not None and len(value) > PARAMETERS[name] for name, value in values.items()):
        install.log_callback(Reason.INVALID_STATE, integration_type)
        return _plain_error(Reason.INVALID_STATE, 400)
    code, state, error = values["code"], values["state"], values["error"]
    signed_in = identity_from_cookie_header(request.headers.get("cookie", ""))
    names = [name for name, _ in query.multi_items()]
    duplicated = any(names.count(name) > 1 for name in ("state", "code", "error"))
    limit: Charge | None = rate_charge(request, "callback", get_settings().callback_rate_limit, signed_in)
    if duplicated or error:  # refused, or checked, before the state is consumed: counted on their own
        limit = None
        try:
            await enforce_rate_limit(request, "callback", get_settings().callback_rate_limit, signed_in)
        except (TooManyRequests, Unavailable) as exc:
            install.log_callback(exc.reason, integration_type)
            return _refused(exc)
    outcome = await install.complete_callback(
        install.CallbackInput(
            integration_type=integration_type,
            state=state,
            code=code,
            error=error,
            error_description=values["error_description"],
            admin_consent=values["admin_consent"],
            binding=request.cookies.get(BINDING_COOKIE),
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
            duplicated=duplicated,
            signed_in=signed_in,
            limit=limit,  # counted with the state's consumption: one Redis round trip
        )
    )
    if outcome.redirect_url is None:
        # The state was not consumed (unknown, mangled, rate limited, Redis down): the browser's own flow
        # may still be pending, so its binding stays for the genuine callback or a reload.
        page = _plain_error(outcome.reason, outcome.status_code)
        if outcome.retry_after is not None:
            page.headers["Retry-After"] = str(outcome.retry_after)
        return page
    response = RedirectResponse(outcome.redirect_url, status_code=303, headers=NO_REFERRER)
    response.delete_cookie(BINDING_COOKIE, path=BINDING_COOKIE_PATH)
    return response


def _refused(exc: ServiceError) -> HTMLResponse:
    """Refused before any flow was touched (429 with Retry-After, or 503): the plain page."""
    response = _plain_error(exc.reason, exc.status_code)
    if isinstance(exc, TooManyRequests):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _plain_error(reason: Reason, status_code: int) -> HTMLResponse:
    message = html.escape(describe(reason, "The provider"))
    console = html.escape(get_settings().public_base_url + "/")
    reference = html.escape(current("request_id") or "-")  # the id the user can report
    body = (
        "<!doctype html><meta charset='utf-8'><title>Installation failed</title>"
        "<body style='font-family:system-ui;max-width:40rem;margin:4rem auto'>"
        "<h1>Installation could not be completed</h1>"
        f"<p id='reason' data-reason='{reason.value}'>{message}</p>"
        f"<p><a href='{console}'>Back to the console</a></p>"
        f"<p id='reference'>Reference: <code>{reference}</code></p></body>"
    )
    return HTMLResponse(body, status_code=status_code, headers=NO_REFERRER)


@router.get("/api/console/integrations/{integration_type}/install", include_in_schema=False)
async def console_install(request: Request, integration_type: str, project_id: str) -> Response:
    """Install started from the console: bind the flow to this browser, then go to the provider."""
    return await _start_in_browser(request, integration_type, project_id, "install")


@router.get("/api/console/integrations/{integration_type}/admin-consent", include_in_schema=False)
async def console_admin_consent(request: Request, integration_type: str, project_id: str) -> Response:
    """The tenant-wide admin approval some organizations require (Microsoft), bound like an install."""
    return await _start_in_browser(request, integration_type, project_id, "admin_consent")


async def _start_in_browser(
    request: Request, integration_type: str, project_id: str, purpose: str
) -> Response:
    identity = identity_from_cookie_header(request.headers.get("cookie", ""))
    if identity is None:
        return RedirectResponse(get_settings().public_base_url + "/login", status_code=303)
    binding = secrets.token_urlsafe(32)
    try:
        url = await install.start_install(
            identity,
            project_id=project_id,
            integration_type=integration_type,
            binding=binding,
            purpose=purpose,
            limit=rate_charge(request, "install", get_settings().install_rate_limit, identity),
        )
    except TooManyRequests as exc:
        return _refused(exc)
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
