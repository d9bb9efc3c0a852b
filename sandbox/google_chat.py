"""Google Chat sandbox, OAuth side: the accounts consent page, token and revoke (PROVIDERS.md §4.2-4.4).

Google's two hosts are two path prefixes here: `/accounts/o/oauth2/v2/auth` (accounts.google.com) and
`/oauth2/token`, `/oauth2/revoke` (oauth2.googleapis.com). The Chat API lives in `google_chat_api`.

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
import hashlib
import hmac
import json
import re
import secrets
import time
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sandbox import faults, google_chat_api
from sandbox import google_chat_fixtures as fx
from sandbox.pages import Consent, Option, Picker, consent_page, error_page
from sandbox.store import JsonDict, SandboxStore
from sandbox.web import (
    Rejected,
    client_credentials,
    guarded,
    json_response,
    query_values,
    read_form,
    redirect_with,
)

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
CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url(SHA-256) without padding
VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")  # RFC 7636 §4.1
CODE_PREFIX = "4/0A"  # Google's codes contain a slash: the console must URL-encode them
CODE_TTL = 600  # (unverified) Google does not document it; codes are single use
ACCESS_TTL = 3600  # `expires_in` says 3599, like Google's
GRANT_TTL = 183 * 86400  # unused refresh tokens die after ~6 months (§4.4)
FORWARDED = (
    "client_id", "redirect_uri", "response_type", "scope", "state", "access_type", "prompt",
    "include_granted_scopes", "login_hint", "nonce", "code_challenge", "code_challenge_method", "hd",
)  # fmt: skip


def _blocked(status: int, error: str, detail: str) -> Rejected:
    """Google shows authorization-request errors on its own page and never redirects them."""
    return Rejected(error_page(f"Error {status}: {error}", f"Access blocked: {detail}", status))


def _oauth_error(error: str, description: str, status: int = 400) -> Rejected:
    body = {"error": error, "error_description": description}
    return Rejected(json_response(body, status, no_store=True))


def _normalized(scope: str) -> list[str]:
    return list(dict.fromkeys(ALIASES.get(s, s) for s in scope.split()))


class GoogleOAuth:
    """Handlers of the consent page and the token and revoke endpoints for one registered app."""

    def __init__(self, app: SandboxApp, store: SandboxStore, canary: str) -> None:
        self.app = app
        self.store = store
        self.canary = canary

    @guarded
    async def show_consent(self, request: Request) -> Response:
        """GET /o/oauth2/v2/auth: validate like Google, then the account chooser and consent page."""
        params, scopes = self._validated(query_values(request))
        if "none" in params.get("prompt", "").split():
            return await self._silent(params, scopes)
        return consent_page(self._consent(params, scopes, request.url.path))

    @guarded
    async def decide(self, request: Request) -> Response:
        """POST of the consent form: approve (with the chosen account) or cancel."""
        form, scopes = self._validated(await read_form(request))
        decision = form.get("decision")
        if decision == "cancel":
            return self._callback(form, {"error": "access_denied"})
        if decision != "approve":
            raise Rejected(error_page("Invalid form", "Choose Allow or Cancel."))
        account = fx.account(form.get("account"))
        if account is None:
            raise Rejected(error_page("Choose an account", "Choose an account to continue."))
        return await self._grant(form, scopes, account)

    def _validated(self, params: dict[str, str] | None) -> tuple[dict[str, str], list[str]]:
        if params is None:
            raise _blocked(400, "invalid_request", "A parameter is repeated or the request is malformed.")
        if params.get("client_id") != self.app.client_id:
            raise _blocked(401, "invalid_client", "The OAuth client was not found.")
        if params.get("redirect_uri") != self.app.redirect_uri:
            detail = "redirect_uri=" + params.get("redirect_uri", "")
            raise _blocked(
                400, "redirect_uri_mismatch", f"Register the redirect URI. Request details: {detail}"
            )
        if params.get("response_type") != "code":
            raise _blocked(400, "invalid_request", "Invalid response_type: code is required.")
        scopes = _normalized(params.get("scope", ""))
        if not scopes:
            raise _blocked(400, "invalid_request", "Missing required parameter: scope")
        invalid = [s for s in scopes if s not in KNOWN_SCOPES]
        if invalid:
            detail = f"Some requested scopes were invalid. {{invalid={invalid}}}"
            raise _blocked(400, "invalid_scope", detail)
        self._check_options(params)
        return params, scopes

    def _check_options(self, params: dict[str, str]) -> None:
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
        if not CHALLENGE.fullmatch(params["code_challenge"]):
            raise _blocked(400, "invalid_request", "Invalid code_challenge.")

    def _consent(self, params: dict[str, str], scopes: list[str], action: str) -> Consent:
        hinted = fx.account_by_email(params.get("login_hint")) or fx.ACCOUNTS[0]
        options = [Option(a.sub, f"{a.name} <{a.email}>", a == hinted) for a in fx.ACCOUNTS]
        return Consent(
            title=f"Google (sandbox) — sign in to continue to {self.app.name}",
            intro=f"{self.app.name} wants access to your Google Account.",
            scopes=scopes,
            action=action,
            hidden={name: params[name] for name in FORWARDED if name in params},
            pickers=(Picker("account", "account", "Choose an account", [("", options)]),),
        )

    async def _silent(self, params: dict[str, str], scopes: list[str]) -> Response:
        """`prompt=none`: a code only when the hinted account's grant already covers the request."""
        account = fx.account_by_email(params.get("login_hint"))
        if account is None:
            return self._callback(params, {"error": "interaction_required"})
        if await self._needs_consent(params, scopes, account):
            return self._callback(params, {"error": "consent_required"})
        return await self._grant(params, scopes, account)

    async def _needs_consent(
        self, params: dict[str, str], scopes: list[str], account: fx.GoogleAccount
    ) -> bool:
        prior = await self.store.get("consent", self._grant_id(account.sub))
        if "consent" in params.get("prompt", "").split() or prior is None:
            return True
        offline = params.get("access_type") == "offline"
        return not set(scopes) <= set(prior["scopes"]) or (offline and not prior["offline"])

    async def _grant(self, params: dict[str, str], scopes: list[str], account: fx.GoogleAccount) -> Response:
        needs_consent = await self._needs_consent(params, scopes, account)
        offline = params.get("access_type") == "offline"
        include_granted = params.get("include_granted_scopes") == "true"
        scopes = await self._remember_consent(account.sub, scopes, offline, include_granted)
        record: JsonDict = {"client_id": self.app.client_id, "redirect_uri": self.app.redirect_uri}
        record |= {"account": account.sub, "scopes": scopes, "refresh": offline and needs_consent}
        record |= {"challenge": params["code_challenge"], "nonce": params.get("nonce")}
        code = CODE_PREFIX + await self.store.issue_code(record, CODE_TTL)
        query = {"code": code, "scope": " ".join(scopes), "authuser": "0", "hd": account.hosted_domain}
        return self._callback(params, query | {"prompt": "consent" if needs_consent else "none"})

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

    def _callback(self, params: dict[str, str], query: dict[str, str]) -> Response:
        if "state" in params:
            query = {"state": params["state"]} | query  # Google puts state first
        return redirect_with(self.app.redirect_uri, query)

    @guarded
    async def token(self, request: Request) -> Response:
        """POST /token: authorization_code (PKCE) and refresh_token grants, form body."""
        form = await read_form(request)
        if form is None or form.get("grant_type") == "authorization_code":
            await self.store.incr("token_exchanges")
        if form is None:
            raise _oauth_error("invalid_request", "Bad Request")
        self._authenticate(request, form)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return json_response(await self._redeem_code(form), no_store=True)
        if grant_type == "refresh_token":
            return json_response(await self._refresh(form), no_store=True)
        if not grant_type:
            raise _oauth_error("invalid_request", "Missing required parameter: grant_type")
        raise _oauth_error("unsupported_grant_type", f"Invalid grant_type: {grant_type}")

    def _authenticate(self, request: Request, form: dict[str, str]) -> None:
        client_id, secret = client_credentials(request, form)
        if client_id != self.app.client_id:
            raise _oauth_error("invalid_client", "The OAuth client was not found.", 401)
        if not hmac.compare_digest(secret.encode(), self.app.client_secret.encode()):
            raise _oauth_error("invalid_client", "Unauthorized", 401)

    async def _redeem_code(self, form: dict[str, str]) -> JsonDict:
        code = form.get("code")
        if not code:
            raise _oauth_error("invalid_request", "Missing required parameter: code")
        key = code.removeprefix(CODE_PREFIX)
        record = await self.store.take_code(key) if key != code else None  # consumed even on failure
        if record is None or record["client_id"] != self.app.client_id:
            raise _oauth_error("invalid_grant", "Bad Request")
        if form.get("redirect_uri") != record["redirect_uri"]:
            raise _oauth_error("redirect_uri_mismatch", "Bad Request")
        verifier = form.get("code_verifier")
        if not verifier:
            raise _oauth_error("invalid_grant", "Missing code verifier.")  # (description recalled)
        if not VERIFIER.fullmatch(verifier) or not hmac.compare_digest(_s256(verifier), record["challenge"]):
            raise _oauth_error("invalid_grant", "Invalid code verifier.")  # (description recalled)
        return await self._issue(record["account"], record["scopes"], record["refresh"], record["nonce"])

    async def _refresh(self, form: dict[str, str]) -> JsonDict:
        token = form.get("refresh_token")
        if not token:
            raise _oauth_error("invalid_request", "Missing required parameter: refresh_token")
        record = await self.store.get_secret("refresh", token)  # stays valid: Google does not rotate
        if record is None or record["client_id"] != self.app.client_id:
            raise _oauth_error("invalid_grant", "Token has been expired or revoked.")
        scopes = record["scopes"]
        if form.get("scope"):
            scopes = _normalized(form["scope"])
            if not set(scopes) <= set(record["scopes"]):
                raise _oauth_error("invalid_scope", "Bad Request")
        return await self._issue(record["account"], scopes, refresh=False, nonce=None)

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

    @guarded
    async def revoke(self, request: Request) -> Response:
        """POST /revoke with `token` in the form body or the query: revokes the whole grant."""
        form, query = await read_form(request) or {}, query_values(request) or {}
        given = {value for value in (form.get("token"), query.get("token")) if value}
        if len(given) != 1:  # missing, or two different tokens
            raise _oauth_error("invalid_request", "Bad Request")
        token = given.pop()
        await self.store.incr("revocations")
        for kind in ("access", "refresh"):
            record = await self.store.get_secret(kind, token)
            if record is not None and record["client_id"] == self.app.client_id:
                await self.store.revoke_grant(record["grant"])
                await self.store.delete("consent", record["grant"])
                return json_response({})
        raise _oauth_error("invalid_token", "Token expired or revoked")


def _s256(verifier: str) -> str:
    return _b64(hashlib.sha256(verifier.encode()).digest())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def build_router(app: SandboxApp, store: SandboxStore, canary: str) -> APIRouter:
    """All Google Chat sandbox routes under `/sandbox/google_chat`."""
    oauth = GoogleOAuth(app, store, canary)
    router = APIRouter(prefix="/sandbox/google_chat", include_in_schema=False)
    router.add_api_route("/accounts/o/oauth2/v2/auth", oauth.show_consent, methods=["GET"])
    router.add_api_route("/accounts/o/oauth2/v2/auth", oauth.decide, methods=["POST"])
    token = faults.with_faults(store, "google_chat", "token", oauth.token)
    router.add_api_route("/oauth2/token", token, methods=["POST"])
    router.add_api_route("/oauth2/revoke", oauth.revoke, methods=["POST"])
    google_chat_api.GoogleChatApi(store, canary).add_routes(router)
    return router
