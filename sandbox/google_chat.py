"""Google Chat sandbox, OAuth side: the quirks of Google's authorization server (PROVIDERS.md §4.2-4.4).

Google's two hosts are two path prefixes here: `/accounts/o/oauth2/v2/auth` (accounts.google.com) and
`/oauth2/token`, `/oauth2/revoke` (oauth2.googleapis.com). The mechanics are `oauth_server`'s; the Chat
API lives in `google_chat_api`.

Grant semantics, as Google's: one grant per (account, client). A refresh token is issued only when
`access_type=offline` and the consent screen was actually needed: the first consent, new scopes, offline
access not granted before, or `prompt=consent`. Re-authorizing without `prompt=consent` when the grant
already covers the request skips consent (callback `prompt=none`) and the token response carries no
`refresh_token`; earlier refresh tokens stay valid. Refresh responses never carry a new refresh token.
Revoking any token of a grant revokes all of them and forgets the consent.
Stricter than Google on purpose: PKCE with S256 is required (Google also allows `plain` or none).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request

from sandbox import faults, google_chat_api
from sandbox import google_chat_fixtures as fx
from sandbox.oauth_checks import S256_CHALLENGE
from sandbox.oauth_quirks import Approval, Denied, Failure, OAuthHooks, OAuthQuirks, PageError, rfc_error
from sandbox.oauth_server import AuthorizationServer
from sandbox.pages import Consent, Option, Picker, error_page
from sandbox.store import JsonDict, SandboxStore
from sandbox.web import Rejected

if TYPE_CHECKING:
    from sandbox import SandboxApp

SCOPE = google_chat_api.SCOPE
# Short names Google accepts and expands in the granted `scope` string.
ALIASES = {"email": SCOPE + "userinfo.email", "profile": SCOPE + "userinfo.profile"}
KNOWN_SCOPES = frozenset(
    {"openid", *ALIASES.values()}
    | {SCOPE + f"chat.{name}" for name in ("spaces", "spaces.readonly", "messages", "messages.create")}
    | {SCOPE + f"chat.{name}" for name in ("messages.readonly", "memberships", "memberships.readonly")}
)
PROMPTS = frozenset({"none", "consent", "select_account"})
ACCESS_TTL = 3600  # `expires_in` says 3599, like Google's
GRANT_TTL = 183 * 86400  # unused refresh tokens die after ~6 months (§4.4)
FORWARDED = (
    "client_id", "redirect_uri", "response_type", "scope", "state", "access_type", "prompt",
    "include_granted_scopes", "login_hint", "nonce", "code_challenge", "code_challenge_method", "hd",
)  # fmt: skip


BAD_REQUEST = "Bad Request"
NOT_FOUND = "The OAuth client was not found."
UNSUPPORTED = rfc_error("unsupported_grant_type", "Invalid grant_type: {grant_type}")
QUIRKS = OAuthQuirks(
    pkce=True,
    code_ttl=600,  # (unverified) Google does not document it; codes are single use
    code_prefix="4/0A",  # Google's codes contain a slash: the console must URL-encode them
    malformed=PageError(
        "Error 400: invalid_request", "Access blocked: A parameter is repeated or the request is malformed."
    ),
    unknown_client=PageError(
        "Error 401: invalid_client", "Access blocked: The OAuth client was not found.", 401
    ),
    redirect_mismatch=PageError(
        "Error 400: redirect_uri_mismatch",
        "Access blocked: Register the redirect URI. Request details: redirect_uri={uri}",
    ),
    choose="Choose Allow or Cancel.",
    state_first=True,
    refresh_rotates=False,  # Google's refresh token stays valid; refresh responses carry no new one
    revoke_authenticates=False,
    revoke_token_in_query=True,
    revoke_unknown_is_error=True,
    errors={
        Failure.MALFORMED: rfc_error("invalid_request", BAD_REQUEST),
        Failure.TWO_CLIENT_AUTHS: rfc_error("invalid_request", "Use one client authentication method."),
        Failure.MISSING_GRANT_TYPE: rfc_error("invalid_request", "Missing required parameter: grant_type"),
        Failure.UNSUPPORTED_GRANT_TYPE: rfc_error(
            "unsupported_grant_type", "Invalid grant_type: {grant_type}"
        ),
        Failure.UNKNOWN_CLIENT: rfc_error("invalid_client", NOT_FOUND, 401),
        Failure.BAD_SECRET: rfc_error("invalid_client", "Unauthorized", 401),
        Failure.MISSING_CODE: rfc_error("invalid_request", "Missing required parameter: code"),
        Failure.BAD_CODE: rfc_error("invalid_grant", BAD_REQUEST),
        Failure.REDIRECT_MISMATCH: rfc_error("redirect_uri_mismatch", BAD_REQUEST),
        Failure.MISSING_VERIFIER: rfc_error("invalid_grant", "Missing code verifier."),  # (recalled)
        Failure.BAD_VERIFIER: rfc_error("invalid_grant", "Invalid code verifier."),  # (recalled)
        Failure.MISSING_REFRESH: rfc_error("invalid_request", "Missing required parameter: refresh_token"),
        Failure.BAD_REFRESH: rfc_error("invalid_grant", "Token has been expired or revoked."),
        Failure.MISSING_TOKEN: rfc_error("invalid_request", BAD_REQUEST),
        Failure.UNKNOWN_TOKEN: rfc_error("invalid_token", "Token expired or revoked"),
    },
)
Scopes = list[str]


def _blocked(status: int, error: str, detail: str) -> Rejected:
    """Google shows authorization-request errors on its own page and never redirects them."""
    return Rejected(error_page(f"Error {status}: {error}", f"Access blocked: {detail}", status))


def _normalized(scope: str) -> list[str]:
    return list(dict.fromkeys(ALIASES.get(s, s) for s in scope.split()))


class GoogleHooks(OAuthHooks[Scopes]):
    """Google's scope and prompt rules, one grant per (account, client), and its token responses."""

    async def validate(self, params: dict[str, str], path: Mapping[str, Any]) -> Scopes:
        """response_type, scopes, access_type, prompt and PKCE S256; errors are Google's pages."""
        if params.get("response_type") != "code":
            raise _blocked(400, "invalid_request", "Invalid response_type: code is required.")
        scopes = _normalized(params.get("scope", ""))
        if not scopes:
            raise _blocked(400, "invalid_request", "Missing required parameter: scope")
        invalid = [s for s in scopes if s not in KNOWN_SCOPES]
        if invalid:
            detail = f"Some requested scopes were invalid. {{invalid={invalid}}}"
            raise _blocked(400, "invalid_scope", detail)
        _check_options(params)
        return scopes

    def consent(self, params: dict[str, str], request: Scopes, action: str) -> Consent:
        """The account chooser and consent page."""
        hinted = fx.account_by_email(params.get("login_hint")) or fx.ACCOUNTS[0]
        options = [Option(a.sub, f"{a.name} <{a.email}>", a == hinted) for a in fx.ACCOUNTS]
        return Consent(
            title=f"Google (sandbox) — sign in to continue to {self.app.name}",
            intro=f"{self.app.name} wants access to your Google Account.",
            scopes=request,
            action=action,
            hidden={name: params[name] for name in FORWARDED if name in params},
            pickers=(Picker("account", "account", "Choose an account", [("", options)]),),
        )

    async def on_show(self, params: dict[str, str], request: Scopes) -> Approval | None:
        """`prompt=none`: a code only when the hinted account's grant already covers the request."""
        if "none" not in params.get("prompt", "").split():
            return None
        account = fx.account_by_email(params.get("login_hint"))
        if account is None:
            raise Denied({"error": "interaction_required"})
        if await self._needs_consent(params, request, account):
            raise Denied({"error": "consent_required"})
        return await self._grant(params, request, account)

    async def approve(self, form: dict[str, str], request: Scopes) -> Approval:
        """The chosen account."""
        account = fx.account(form.get("account"))
        if account is None:
            raise Rejected(error_page("Choose an account", "Choose an account to continue."))
        return await self._grant(form, request, account)

    async def _needs_consent(
        self, params: dict[str, str], scopes: list[str], account: fx.GoogleAccount
    ) -> bool:
        prior = await self.store.get("consent", self._grant_id(account.sub))
        if "consent" in params.get("prompt", "").split() or prior is None:
            return True
        offline = params.get("access_type") == "offline"
        return not set(scopes) <= set(prior["scopes"]) or (offline and not prior["offline"])

    async def _grant(self, params: dict[str, str], scopes: list[str], account: fx.GoogleAccount) -> Approval:
        needs_consent = await self._needs_consent(params, scopes, account)
        offline = params.get("access_type") == "offline"
        include_granted = params.get("include_granted_scopes") == "true"
        scopes = await self._remember_consent(account.sub, scopes, offline, include_granted)
        record = {"account": account.sub, "scopes": scopes, "refresh": offline and needs_consent}
        query = {"scope": " ".join(scopes), "authuser": "0", "hd": account.hosted_domain}
        query["prompt"] = "consent" if needs_consent else "none"
        return Approval(record | {"nonce": params.get("nonce")}, query)

    async def _remember_consent(
        self, sub: str, scopes: list[str], offline: bool, include_granted: bool
    ) -> list[str]:
        """Record the grant; returns this authorization's scopes (plus earlier ones when asked)."""
        key = self._grant_id(sub)
        prior = await self.store.get("consent", key) or {"scopes": [], "offline": False}
        consent = {
            "scopes": list(dict.fromkeys(prior["scopes"] + scopes)),
            "offline": offline or prior["offline"],
        }
        await self.store.put("consent", key, consent, GRANT_TTL)
        return list(dict.fromkeys(scopes + prior["scopes"])) if include_granted else scopes

    def _grant_id(self, sub: str) -> str:
        """Google keeps one grant per (account, client): consent, refresh tokens and revocation."""
        return f"{self.app.client_id}:{sub}"

    async def issue(self, request: Request, params: dict[str, str], record: JsonDict) -> JsonDict:
        """Access token; refresh token on an offline first consent; ID token with `openid`."""
        return await self._issue(record["account"], record["scopes"], record["refresh"], record["nonce"])

    async def refresh(self, request: Request, params: dict[str, str], record: JsonDict) -> JsonDict:
        """A new access token, for the granted scopes or a subset named in `scope`."""
        scopes = record["scopes"]
        if params.get("scope"):
            scopes = _normalized(params["scope"])
            if not set(scopes) <= set(record["scopes"]):
                raise Rejected(rfc_error("invalid_scope", BAD_REQUEST)({}))
        return await self._issue(record["account"], scopes, refresh=False, nonce=None)

    async def on_revoke(self, record: JsonDict) -> None:
        """Revoking forgets the consent too: the next authorization asks again."""
        await self.store.delete("consent", record["grant"])

    async def _issue(self, account: str, scopes: list[str], refresh: bool, nonce: str | None) -> JsonDict:
        record = {
            "grant": self._grant_id(account),
            "client_id": self.app.client_id,
            "account": account,
            "scopes": scopes,
        }
        access = f"ya29.a0{self.canary}-{secrets.token_urlsafe(32)}"
        await self._store_token("access", access, record, ACCESS_TTL)
        body: JsonDict = {"access_token": access, "expires_in": ACCESS_TTL - 1}
        if refresh:
            body["refresh_token"] = f"1//0g{self.canary}-{secrets.token_urlsafe(32)}"
            await self._store_token("refresh", body["refresh_token"], record, GRANT_TTL)
        body |= {"scope": " ".join(scopes), "token_type": "Bearer"}
        if "openid" in scopes:
            body["id_token"] = self._id_token(account, scopes, nonce)
        return body

    async def _store_token(self, kind: str, token: str, record: JsonDict, ttl: int) -> None:
        await self.store.put_secret(kind, token, record, ttl)
        await self.store.link_to_grant(record["grant"], kind, token, GRANT_TTL)

    def _id_token(self, sub: str, scopes: list[str], nonce: str | None) -> str:
        """A JWT with Google's claims. Its signature part is not a real RS256 signature (no JWKS here)."""
        account = fx.account(sub)
        assert account is not None
        now = int(time.time())
        claims: JsonDict = {"iss": "https://accounts.google.com", "azp": self.app.client_id}
        claims |= {"aud": self.app.client_id, "sub": sub, "hd": account.hosted_domain}
        if ALIASES["email"] in scopes:
            claims |= {"email": account.email, "email_verified": True}
        if ALIASES["profile"] in scopes:
            claims["name"] = account.name
        if nonce:
            claims["nonce"] = nonce
        claims |= {"iat": now, "exp": now + ACCESS_TTL}
        header = {"alg": "RS256", "kid": "sandbox-google-chat", "typ": "JWT"}
        parts = [_b64(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)]
        return ".".join([*parts, f"{self.canary}-{secrets.token_urlsafe(64)}"])


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _check_options(params: dict[str, str]) -> None:
    if params.get("access_type", "online") not in ("online", "offline"):
        raise _blocked(400, "invalid_request", "Invalid access_type: " + params["access_type"])
    prompt = set(params.get("prompt", "").split())
    if not prompt <= PROMPTS or ("none" in prompt and len(prompt) > 1):
        raise _blocked(400, "invalid_request", "Invalid parameter value for prompt.")
    if params.get("include_granted_scopes", "false") not in ("true", "false"):
        raise _blocked(400, "invalid_request", "Invalid include_granted_scopes.")
    if "code_challenge" not in params:
        raise _blocked(400, "invalid_request", "Missing required parameter: code_challenge")
    if params.get("code_challenge_method") != "S256":
        raise _blocked(400, "invalid_request", "Invalid code_challenge_method (this sandbox needs S256).")
    if not S256_CHALLENGE.fullmatch(params["code_challenge"]):
        raise _blocked(400, "invalid_request", "Invalid code_challenge.")


def build_router(app: SandboxApp, store: SandboxStore, canary: str) -> APIRouter:
    """All Google Chat sandbox routes under `/sandbox/google_chat`."""
    oauth = AuthorizationServer(QUIRKS, GoogleHooks(app, store, canary), app, store)
    router = APIRouter(prefix="/sandbox/google_chat", include_in_schema=False)
    router.add_api_route("/accounts/o/oauth2/v2/auth", oauth.show_consent, methods=["GET"])
    router.add_api_route("/accounts/o/oauth2/v2/auth", oauth.decide, methods=["POST"])
    token = faults.with_faults(store, "google_chat", "token", oauth.token)
    router.add_api_route("/oauth2/token", token, methods=["POST"])
    router.add_api_route("/oauth2/revoke", oauth.revoke, methods=["POST"])
    google_chat_api.GoogleChatApi(store, canary).add_routes(router)
    return router
