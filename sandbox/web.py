"""HTTP helpers shared by the sandbox providers: strict parsing, guards, redirects."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, ParamSpec
from urllib.parse import urlencode, urlsplit, urlunsplit

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

FORM_TYPE = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"
# RFC 6749 §5.1: token responses must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

P = ParamSpec("P")


class Rejected(Exception):
    """Raised by a guard to end the request with a ready-made response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def guarded(handler: Callable[P, Awaitable[Response]]) -> Callable[P, Awaitable[Response]]:
    """Turn `Rejected` raised anywhere in a handler into its response.

    Handlers then read as a straight list of guards, like the real providers' checks.
    """

    @functools.wraps(handler)
    async def run(*args: P.args, **kwargs: P.kwargs) -> Response:
        try:
            return await handler(*args, **kwargs)
        except Rejected as rejected:
            return rejected.response

    return run


def media_type(request: Request) -> str:
    """The request's Content-Type without parameters, lower-cased."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def single_values(items: Iterable[tuple[str, Any]]) -> dict[str, str] | None:
    """Fields as a dict, or None when one repeats or is not text (RFC 6749 §3.1)."""
    values: dict[str, str] = {}
    for name, value in items:
        if name in values or not isinstance(value, str):
            return None
        values[name] = value
    return values


def query_values(request: Request) -> dict[str, str] | None:
    """Single-valued query parameters, or None when one repeats."""
    return single_values(request.query_params.multi_items())


async def read_form(request: Request) -> dict[str, str] | None:
    """Fields of a urlencoded body; None for any other body or a repeated field."""
    if media_type(request) != FORM_TYPE:
        return None
    form = await request.form()
    return single_values(form.multi_items())


async def read_json(request: Request) -> Any:
    """The JSON body, or None when it is missing or malformed."""
    try:
        return await request.json()
    except ValueError:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None


def auth_token(request: Request, scheme: str) -> str | None:
    """The credential of an `Authorization: <scheme> <token>` header, if that scheme is used."""
    name, _, value = request.headers.get("authorization", "").partition(" ")
    token = value.strip()
    return token if name.lower() == scheme.lower() and token else None


def redirect_with(uri: str, params: dict[str, str]) -> RedirectResponse:
    """302 to `uri` with `params` added to its query, each properly URL-encoded."""
    parts = urlsplit(uri)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return RedirectResponse(urlunsplit(parts._replace(query=query)), status_code=302)


def base_url(request: Request) -> str:
    """This app's base URL as the request reached it (for sandbox webhook URLs only)."""
    return str(request.base_url).rstrip("/")


def json_response(body: Any, status_code: int = 200, no_store: bool = False) -> JSONResponse:
    """A JSON response, optionally marked uncacheable as token responses must be."""
    return JSONResponse(body, status_code=status_code, headers=NO_STORE if no_store else None)
