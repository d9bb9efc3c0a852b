"""Sign in (JWT -> HttpOnly session cookie) and out; the demo login posts here too."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, Response
from fastapi.responses import RedirectResponse

from tms_console.api.deps import bearer_identity
from tms_console.security import redirects
from tms_console.security.session import SESSION_COOKIE
from tms_console.services import demo
from tms_console.settings import get_settings

router = APIRouter(prefix="/api/session", tags=["session"])
# Mounted only when DEMO_LOGIN=1 (dev and test): otherwise the route does not exist at all.
demo_router = APIRouter(prefix="/api/session", include_in_schema=False)


def _set_session(response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=8 * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=get_settings().session_cookie_secure,
    )


@router.post("", status_code=204, responses={401: {"description": "Invalid token"}})
async def sign_in(request: Request) -> Response:
    """Verify the Bearer JWT and keep it in the console's HttpOnly session cookie."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "a Bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    await bearer_identity(request)  # raises 401 unless the token verifies
    response = Response(status_code=204)
    _set_session(response, token.strip())
    return response


@router.delete("", status_code=204)
async def sign_out() -> Response:
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@demo_router.post("/demo")
async def demo_sign_in(user_id: Annotated[str, Form(max_length=64)]) -> Response:
    """The demo login page's form: sign in as a seeded identity."""
    token, first_project = await demo.sign_in(user_id)
    base = get_settings().public_base_url
    target = redirects.project_page(first_project) if first_project else base + "/"
    response = RedirectResponse(target, status_code=303)
    _set_session(response, token)
    return response
