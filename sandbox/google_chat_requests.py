"""Google Chat sandbox, request side: Google's error envelope, strict query parameters, page tokens.

Shared by the Chat API handlers in `google_chat_api` (PROVIDERS.md §4.5, §4.8).
"""

from __future__ import annotations

import base64
import json
import re

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from sandbox import google_chat_fixtures as fx
from sandbox.store import JsonDict
from sandbox.web import Rejected, query_values

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
FILTER_TERM = re.compile(r'\s*spaceType\s*=\s*"([A-Z_]+)"\s*')
# Standard Google API query parameters accepted on every method.
SYSTEM_PARAMS = frozenset({"alt", "fields", "prettyPrint", "quotaUser", "key"})
SEE = "See https://developers.google.com/identity/sign-in/web/devconsole-project."
CREDENTIAL = "Expected OAuth 2 access token, login cookie or other valid authentication credential."
MISSING_AUTH = f"Request is missing required authentication credential. {CREDENTIAL} {SEE}"
INVALID_AUTH = f"Request had invalid authentication credentials. {CREDENTIAL} {SEE}"
NOT_FOUND = "Requested entity was not found."


def google_error(code: int, status: str, message: str, reason: str | None = None) -> Response:
    """Google's API error envelope; 401s also carry the `WWW-Authenticate` header Google sends."""
    error: JsonDict = {"code": code, "message": message, "status": status}
    if reason:
        info = {"service": "chat.googleapis.com"}
        error["details"] = [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason}
            | {"domain": "googleapis.com", "metadata": info}
        ]
    headers = None
    if code == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'}
    return JSONResponse({"error": error}, code, headers=headers)


def invalid_argument(message: str) -> Rejected:
    """A 400 INVALID_ARGUMENT, ready to raise."""
    return Rejected(google_error(400, "INVALID_ARGUMENT", message))


def params_of(request: Request, allowed: set[str]) -> dict[str, str]:
    params = query_values(request)
    if params is None:
        raise invalid_argument("Invalid request: a query parameter was repeated.")
    for name in params:
        if name not in allowed | SYSTEM_PARAMS:
            raise invalid_argument(
                f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query parameter. '
                f"Field '{name}' could not be found in request message."
            )
    return params


def page_size(raw: str) -> int:
    if raw == "":
        return DEFAULT_PAGE_SIZE
    if not re.fullmatch(r"-?\d{1,9}", raw):
        raise invalid_argument(f"Invalid value at 'page_size' (TYPE_INT32), \"{raw}\"")
    size = int(raw)
    if size < 0:
        raise invalid_argument("Page size must be non-negative.")
    return min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def space_types(raw: str) -> frozenset[str]:
    if not raw.strip():
        return fx.SPACE_TYPES
    types = set()
    for term in re.split(r"\s+OR\s+", raw.strip()):
        match = FILTER_TERM.fullmatch(term)
        if match is None or match.group(1) not in fx.SPACE_TYPES:
            raise invalid_argument(f"Invalid filter: {raw}")
        types.add(match.group(1))
    return frozenset(types)


def page_token(state: JsonDict) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, sort_keys=True).encode()).decode()


def page_offset(raw: str, scope: JsonDict) -> int:
    """Offset encoded in a page token; the token only works with the same caller and filter."""
    if not raw:
        return 0
    try:
        state = json.loads(base64.urlsafe_b64decode(raw.encode()))
    except ValueError:  # binascii.Error, UnicodeDecodeError, JSONDecodeError, non-ASCII input
        raise invalid_argument("The page token is invalid.") from None
    offset = state.get("o") if isinstance(state, dict) else None
    if not isinstance(offset, int) or offset < 0 or {k: state.get(k) for k in scope} != scope:
        raise invalid_argument("The page token is invalid.")
    return offset
