"""What one provider's OAuth authorization server does differently: the data `oauth_server` is driven by.

A provider module fills in an `OAuthQuirks` (code lifetime, client authentication methods, error shapes
and texts, refresh rotation, revoke rules) and implements `OAuthHooks` for what is not data: its scope
rules, its consent page and its token response.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from sandbox.pages import Consent, error_page
from sandbox.store import JsonDict, SandboxStore
from sandbox.web import json_response

if TYPE_CHECKING:
    from sandbox import SandboxApp

C = TypeVar("C")
ErrorFactory = Callable[[Mapping[str, str]], Response]
BASIC_OR_BODY = frozenset({"basic", "body"})


class Failure(StrEnum):
    """Why a token or revoke request failed; each provider maps it to its own error response."""

    MALFORMED = "malformed"  # not a form body, or a repeated field
    MISSING_GRANT_TYPE = "missing_grant_type"
    UNSUPPORTED_GRANT_TYPE = "unsupported_grant_type"
    TWO_CLIENT_AUTHS = "two_client_auths"  # RFC 6749 §2.3: one authentication method per request
    MISSING_CLIENT_ID = "missing_client_id"
    UNKNOWN_CLIENT = "unknown_client"
    MISSING_SECRET = "missing_secret"
    BAD_SECRET = "bad_secret"
    MISSING_CODE = "missing_code"
    BAD_CODE = "bad_code"  # unknown, expired, or issued to another client
    USED_CODE = "used_code"  # redeemed before (only where the provider says so)
    REDIRECT_MISMATCH = "redirect_mismatch"
    MISSING_VERIFIER = "missing_verifier"
    BAD_VERIFIER = "bad_verifier"
    MISSING_REFRESH = "missing_refresh"
    BAD_REFRESH = "bad_refresh"
    MISSING_TOKEN = "missing_token"
    UNKNOWN_TOKEN = "unknown_token"


# A provider that does not tell two failures apart maps only the general one.
FALLBACK = {
    Failure.MISSING_GRANT_TYPE: Failure.UNSUPPORTED_GRANT_TYPE,
    Failure.MISSING_CLIENT_ID: Failure.UNKNOWN_CLIENT,
    Failure.MISSING_SECRET: Failure.BAD_SECRET,
    Failure.MISSING_CODE: Failure.BAD_CODE,
    Failure.USED_CODE: Failure.BAD_CODE,
    Failure.REDIRECT_MISMATCH: Failure.BAD_CODE,
    Failure.MISSING_VERIFIER: Failure.BAD_VERIFIER,
    Failure.MISSING_REFRESH: Failure.BAD_REFRESH,
}


@dataclass(frozen=True)
class PageError:
    """An authorization-request error shown on the provider's own page, never redirected.

    `title` and `message` may name `{client_id}` and `{uri}` (the redirect URI that was sent).
    """

    title: str
    message: str
    status: int = 400

    def page(self, context: Mapping[str, str]) -> HTMLResponse:
        """The error page, with the request's values filled in (and escaped by `error_page`)."""
        return error_page(self.title.format_map(context), self.message.format_map(context), self.status)


@dataclass(frozen=True)
class OAuthQuirks:
    """One provider's authorization server as data."""

    code_ttl: float  # seconds an authorization code lives
    malformed: PageError  # authorize request with a repeated or non-text parameter
    unknown_client: PageError
    redirect_mismatch: PageError
    errors: Mapping[Failure, ErrorFactory]  # token/revoke failures; see FALLBACK for missing entries
    cancel: Mapping[str, str] = field(default_factory=lambda: {"error": "access_denied"})
    choose: str = "Choose Authorize or Cancel."  # a consent form posted without either button
    state_first: bool = False  # Google puts `state` first in the callback query
    code_prefix: str = ""  # Google's codes start with `4/0A`
    pkce: bool = False  # bind the code to `code_challenge` (S256) and require its verifier
    used_code_memory: int = 0  # seconds a redeemed code answers USED_CODE instead of BAD_CODE
    client_auth: frozenset[str] = BASIC_OR_BODY  # "basic" header and/or "body" (form or query) fields
    params_from: Literal["form", "query"] = "form"  # where the token endpoint reads its parameters
    default_grant: str = ""  # grant_type assumed when absent (Slack, Meta)
    grants: frozenset[str] = frozenset({"authorization_code", "refresh_token"})
    refresh_rotates: bool = True  # a refresh token is single-use
    revoke_authenticates: bool = True  # the revoke endpoint needs client authentication
    revoke_token_in_query: bool = False  # the token may come in the query string (Google)
    revoke_unknown_is_error: bool = False  # revoking an unknown token fails (Google) or is a no-op

    def error(self, failure: Failure, context: Mapping[str, str]) -> Response:
        """The provider's response for a failure (falling back to the general failure it lumps it with)."""
        while failure not in self.errors:
            failure = FALLBACK[failure]
        return self.errors[failure](context)


@dataclass(frozen=True)
class Approval:
    """A consent the user gave: what the code is bound to and what the callback carries besides it."""

    record: JsonDict
    query: dict[str, str] = field(default_factory=dict)


class Denied(Exception):
    """Raised by a hook to end an authorization request with an error redirect to the client."""

    def __init__(self, query: dict[str, str]) -> None:
        super().__init__(query.get("error", ""))
        self.query = query


class OAuthHooks(Generic[C]):
    """What a provider's authorization server does that is not data. `C`: its parsed request (scopes...).

    Hooks raise `web.Rejected` for an error page and `Denied` for an error redirect.
    """

    def __init__(self, app: SandboxApp, store: SandboxStore, canary: str) -> None:
        self.app = app
        self.store = store
        self.canary = canary

    def check_path(self, path: Mapping[str, Any], endpoint: Literal["authorize", "token"]) -> None:
        """Reject a request whose path parameters (e.g. an Entra tenant) name nothing."""

    async def validate(self, params: dict[str, str], path: Mapping[str, Any]) -> C:
        """The provider's checks of a trusted authorization request (client and redirect URI known good)."""
        raise NotImplementedError

    def consent(self, params: dict[str, str], request: C, action: str) -> Consent:
        """The consent page for a valid authorization request."""
        raise NotImplementedError

    async def on_show(self, params: dict[str, str], request: C) -> Approval | None:
        """Before the consent page: answer without it (e.g. `prompt=none`); None shows the page."""
        return None

    async def approve(self, form: dict[str, str], request: C) -> Approval:
        """The user approved: what to bind the code to."""
        raise NotImplementedError

    async def issue(self, request: Request, params: dict[str, str], record: JsonDict) -> JsonDict:
        """The token response for a redeemed code (`request` is the HTTP request, for absolute URLs)."""
        raise NotImplementedError

    async def refresh(self, request: Request, params: dict[str, str], record: JsonDict) -> JsonDict:
        """The token response for a valid refresh token's record."""
        raise NotImplementedError

    async def on_revoke(self, record: JsonDict) -> None:
        """After every token of a grant was revoked (e.g. forget the consent)."""


def rfc_error(error: str, description: str = "", status: int = 400) -> ErrorFactory:
    """An RFC 6749 §5.2 error JSON; `description` may name `{client_id}`, `{uri}` and `{grant_type}`."""

    def render(context: Mapping[str, str]) -> Response:
        body = {"error": error}
        if description:
            body["error_description"] = description.format_map(context)
        return json_response(body, status, no_store=True)

    return render
