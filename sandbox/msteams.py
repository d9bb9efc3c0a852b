"""Microsoft Teams sandbox, identity side: authorize + consent, admin consent, token (PROVIDERS.md §3.2-3.5).

Served as the login host under `/sandbox/msteams/login/{tenant}/...`; Graph lives in `msteams_graph`.
The sandbox enforces PKCE S256 on every code (Entra only recommends it) and, stricter than Entra,
invalidates a refresh token once it has been used: a console that forgets to store the rotated
refresh token fails here, not in production 90 days later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sandbox import faults, msteams_graph
from sandbox import msteams_fixtures as world
from sandbox.msteams_tokens import (
    ADMIN_ONLY_SCOPES,
    APP_PERMISSIONS,
    GRAPH,
    InvalidScope,
    Scopes,
    TokenIssuer,
    aad_error,
    describe,
    parse_scopes,
    session_key,
)
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

CODE_TTL = 600  # "code lives ~10 minutes" (PROVIDERS.md §3.2)
PROMPTS = ("login", "none", "consent", "select_account")
S256_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
FORWARDED = (
    "client_id", "response_type", "redirect_uri", "scope", "state", "response_mode", "code_challenge",
    "code_challenge_method", "nonce", "prompt", "login_hint", "domain_hint",
)  # fmt: skip
ADMIN_FORWARDED = ("client_id", "redirect_uri", "scope", "state")
CANCELED = "the user canceled the authentication"  # PROVIDERS.md §3.2
NOT_CONSENTED = (
    "The user or administrator has not consented to use the application with ID '{client_id}' named "
    "'{name}'. Send an interactive authorization request for this user and resource."
)
REDIRECT_MISMATCH = (
    "The redirect URI '{uri}' specified in the request does not match the redirect URIs configured for "
    "the application '{client_id}'. Make sure the redirect URI sent in the request matches one added to "
    "your application in the Azure portal."
)

BAD_SCOPE = (
    "The provided value for the input parameter 'scope' is not valid. The scope '{scope}' does not exist."
)
BAD_SECRET = (
    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
    "value, not the client secret ID, for a secret added to app '{client_id}'."
)
REDEEMED = (
    "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an "
    "existing refresh token."
)
PKCE_MISMATCH = (
    "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE."
)


def _missing(name: str) -> str:
    return f"The request body must contain the following parameter: '{name}'."


class MsTeamsLogin:
    """Handlers of the sandbox's login.microsoftonline.com for one registered app."""

    def __init__(self, app: SandboxApp, store: SandboxStore, canary: str) -> None:
        self.app = app
        self.store = store
        self.issuer = TokenIssuer(app, store, canary)

    # --- /oauth2/v2.0/authorize -------------------------------------------------------------------

    @guarded
    async def show_consent(self, request: Request, tenant: str) -> Response:
        """GET /{tenant}/oauth2/v2.0/authorize: validate like Entra, then pick an account and consent."""
        params, tenants, scopes = self._validated(query_values(request), tenant)
        if params.get("prompt") == "none":  # the sandbox never has a signed-in browser session
            message = "A silent sign-in request was sent but no user is signed in."
            raise Rejected(self._deny(params, "login_required", 50058, message))
        return consent_page(self._consent(params, tenants, scopes, request.url.path))

    @guarded
    async def decide(self, request: Request, tenant: str) -> Response:
        """POST /{tenant}/oauth2/v2.0/authorize: the consent form's approve or cancel."""
        form, tenants, scopes = self._validated(await read_form(request), tenant)
        decision = form.get("decision")
        if decision == "cancel":
            query = {"error": "access_denied", "error_description": CANCELED}
            raise Rejected(_redirect(self.app.redirect_uri, form, query))
        if decision != "approve":
            raise Rejected(error_page("Invalid form", "Choose Accept or Cancel."))
        chosen = next((t for t in tenants if t.id == form.get("tenant_id")), None)
        if chosen is None:
            raise Rejected(error_page("Invalid account", "Choose one of the listed accounts."))
        needs_admin = chosen.requires_admin_consent or bool(ADMIN_ONLY_SCOPES & set(scopes.graph))
        if needs_admin and not await self._admin_consented(chosen.id):
            message = NOT_CONSENTED.format(client_id=self.app.client_id, name=self.app.name)
            raise Rejected(self._deny(form, "consent_required", 65001, message))
        record: JsonDict = {"client_id": self.app.client_id, "redirect_uri": self.app.redirect_uri}
        record |= {"tenant_id": chosen.id, "oid": chosen.user.oid, "nonce": form.get("nonce")}
        record |= {"oidc": scopes.oidc, "graph": scopes.graph, "code_challenge": form["code_challenge"]}
        code = await self.store.issue_code(record, CODE_TTL)
        return _redirect(self.app.redirect_uri, form, {"code": code})

    def _validated(
        self, params: dict[str, str] | None, tenant: str
    ) -> tuple[dict[str, str], tuple[world.Tenant, ...], Scopes]:
        # Until tenant, client and redirect URI are known good, errors are pages, never redirects.
        params = self._trusted(params, tenant)
        tenants = world.tenants_for(tenant) or ()
        response_type = params.get("response_type")
        if not response_type:
            raise Rejected(self._deny(params, "invalid_request", 900144, _missing("response_type")))
        if response_type != "code":
            message = f"response_type '{response_type}' is not enabled for the application."
            raise Rejected(self._deny(params, "unsupported_response_type", 700054, message))
        if params.get("response_mode", "query") != "query":
            message = "Invalid request. The sandbox answers with response_mode=query only."
            raise Rejected(self._deny(params, "invalid_request", 9002313, message))
        if params.get("prompt", "login") not in PROMPTS:
            raise Rejected(self._deny(params, "invalid_request", 9002313, "Invalid 'prompt' value."))
        self._check_pkce(params)
        return params, tenants, self._scopes(params)

    def _trusted(self, params: dict[str, str] | None, tenant: str) -> dict[str, str]:
        if params is None:
            raise Rejected(error_page("Sign in", "AADSTS9002313: Invalid request. Request is malformed."))
        if world.tenants_for(tenant) is None:
            raise Rejected(error_page("Sign in", f"AADSTS90002: Tenant '{tenant}' not found."))
        client_id = params.get("client_id", "")
        if client_id != self.app.client_id:
            message = f"AADSTS700016: Application with identifier '{client_id}' was not found."
            raise Rejected(error_page("Sign in", message))
        uri = params.get("redirect_uri", "")
        if uri != self.app.redirect_uri:
            message = REDIRECT_MISMATCH.format(uri=uri, client_id=client_id)
            raise Rejected(error_page("Sign in", f"AADSTS50011: {message}"))
        return params

    def _check_pkce(self, params: dict[str, str]) -> None:
        challenge = params.get("code_challenge")
        if not challenge:
            raise Rejected(self._deny(params, "invalid_request", 900144, _missing("code_challenge")))
        if params.get("code_challenge_method") != "S256" or not S256_CHALLENGE.fullmatch(challenge):
            message = "Invalid request. The sandbox requires code_challenge_method=S256."
            raise Rejected(self._deny(params, "invalid_request", 9002313, message))

    def _scopes(self, params: dict[str, str]) -> Scopes:
        if not params.get("scope", "").strip():
            raise Rejected(self._deny(params, "invalid_request", 900144, _missing("scope")))
        try:
            scopes = parse_scopes(params["scope"])
        except InvalidScope as exc:
            message = BAD_SCOPE.format(scope=exc)
            raise Rejected(self._deny(params, "invalid_scope", 70011, message)) from None
        if not scopes.graph:  # stricter than Entra: the console always needs a Graph token
            message = "The provided value for the input parameter 'scope' is not valid: no Graph scope."
            raise Rejected(self._deny(params, "invalid_scope", 70011, message))
        return scopes

    def _deny(self, params: dict[str, str], error: str, code: int, message: str) -> Response:
        query = {"error": error, "error_description": describe(code, message)}
        return _redirect(self.app.redirect_uri, params, query)

    def _consent(
        self, params: dict[str, str], tenants: tuple[world.Tenant, ...], scopes: Scopes, action: str
    ) -> Consent:
        hidden = {name: params[name] for name in FORWARDED if name in params}
        return Consent(
            title=f"Microsoft (sandbox) — {self.app.name} wants to access your account",
            intro="Pick the work account to sign in with, then review the permissions.",
            scopes=[*scopes.oidc, *(GRAPH + scope for scope in scopes.graph)],
            action=action,
            hidden=hidden,
            pickers=(_account_picker(tenants, params),),
        )

    async def _admin_consented(self, tenant_id: str) -> bool:
        return await self.store.has_flag("admin_consent", f"{tenant_id}:{self.app.client_id}")

    # --- /v2.0/adminconsent -----------------------------------------------------------------------

    @guarded
    async def show_admin_consent(self, request: Request, tenant: str) -> Response:
        """GET /{tenant}/v2.0/adminconsent: an admin of the chosen tenant consents for everyone."""
        params, tenants = self._admin_validated(query_values(request), tenant)
        consent = Consent(
            title=f"Microsoft (sandbox) — Permissions requested by {self.app.name}",
            intro="Accept for your organization: every user of the chosen tenant may then use the app.",
            scopes=[GRAPH + scope for scope in APP_PERMISSIONS],
            action=request.url.path,
            hidden={name: params[name] for name in ADMIN_FORWARDED if name in params},
            pickers=(_account_picker(tenants, params, admin=True),),
        )
        return consent_page(consent)

    @guarded
    async def decide_admin_consent(self, request: Request, tenant: str) -> Response:
        """POST /{tenant}/v2.0/adminconsent: grant for the tenant, or decline."""
        form, tenants = self._admin_validated(await read_form(request), tenant)
        decision = form.get("decision")
        if decision == "cancel":
            message = describe(65004, "User declined to consent to access the app.")
            query = {"admin_consent": "True", "error": "access_denied", "error_description": message}
            raise Rejected(_redirect(self.app.redirect_uri, form, query))
        chosen = next((t for t in tenants if t.id == form.get("tenant_id")), None)
        if decision != "approve" or chosen is None:
            raise Rejected(error_page("Invalid form", "Choose a tenant, then Accept or Cancel."))
        await self.store.add_flag("admin_consent", f"{chosen.id}:{self.app.client_id}")
        granted = " ".join(GRAPH + scope for scope in APP_PERMISSIONS)
        query = {"admin_consent": "True", "tenant": chosen.id, "scope": granted}
        return _redirect(self.app.redirect_uri, form, query)

    def _admin_validated(
        self, params: dict[str, str] | None, tenant: str
    ) -> tuple[dict[str, str], tuple[world.Tenant, ...]]:
        if tenant.lower() == "common":  # PROVIDERS.md §3.3: GUID or `organizations`, never `common`
            raise Rejected(error_page("Sign in", "AADSTS90009: Admin consent needs a tenant, not 'common'."))
        params = self._trusted(params, tenant)
        scope = params.get("scope", "").split()
        if not scope or any(s.lower() != GRAPH + ".default" for s in scope):
            message = "The admin consent endpoint takes scope=https://graph.microsoft.com/.default only."
            raise Rejected(self._deny(params, "invalid_scope", 70011, message))
        return params, world.tenants_for(tenant) or ()

    # --- /oauth2/v2.0/token -----------------------------------------------------------------------

    @guarded
    async def token(self, request: Request, tenant: str) -> Response:
        """POST /{tenant}/oauth2/v2.0/token: authorization_code and refresh_token grants, form only."""
        form = await read_form(request)
        grant_type = (form or {}).get("grant_type")
        if form is None or grant_type == "authorization_code":
            await self.store.incr("token_exchanges")
        if form is None or not grant_type:
            raise Rejected(aad_error("invalid_request", 900144, _missing("grant_type")))
        if world.tenants_for(tenant) is None:
            raise Rejected(aad_error("invalid_request", 90002, f"Tenant '{tenant}' not found."))
        self._authenticate(request, form, tenant)
        if grant_type == "authorization_code":
            grant = await self._redeem_code(form)
        elif grant_type == "refresh_token":
            grant = await self._refresh(form)
        else:
            message = f"The app requested an unsupported grant type '{grant_type}'."
            raise Rejected(aad_error("unsupported_grant_type", 70003, message))
        _check_tenant(grant, tenant)
        _check_requested_scopes(form, grant, self.app)
        return json_response(await self.issuer.issue(grant), no_store=True)

    def _authenticate(self, request: Request, form: dict[str, str], tenant: str) -> None:
        client_id, secret = client_credentials(request, form)
        if not client_id:
            raise Rejected(aad_error("invalid_request", 900144, _missing("client_id")))
        if client_id != self.app.client_id:
            message = f"Application with identifier '{client_id}' was not found in the directory."
            raise Rejected(aad_error("unauthorized_client", 700016, message))
        if not secret:
            message = _missing("client_assertion' or 'client_secret")
            raise Rejected(aad_error("invalid_client", 7000218, message, 401))
        if not hmac.compare_digest(secret.encode(), self.app.client_secret.encode()):
            message = BAD_SECRET.format(client_id=client_id)
            raise Rejected(aad_error("invalid_client", 7000215, message, 401))

    async def _redeem_code(self, form: dict[str, str]) -> JsonDict:
        code = form.get("code")
        if not code:
            raise Rejected(aad_error("invalid_request", 900144, _missing("code")))
        record = await self.store.take_code(code)  # consumed even if the checks below fail
        if record is None:
            if await self.store.get_secret("redeemed", code) is not None:
                raise Rejected(aad_error("invalid_grant", 54005, REDEEMED))
            message = "The provided value for the 'code' parameter is not valid."
            raise Rejected(aad_error("invalid_grant", 70000, message))
        await self.store.put_secret("redeemed", code, {}, CODE_TTL)
        uri = form.get("redirect_uri", "")
        if uri != record["redirect_uri"]:
            message = REDIRECT_MISMATCH.format(uri=uri, client_id=self.app.client_id)
            raise Rejected(aad_error("invalid_client", 50011, message))
        if not _pkce_matches(form.get("code_verifier", ""), record["code_challenge"]):
            raise Rejected(aad_error("invalid_grant", 50148, PKCE_MISMATCH))
        return record

    async def _refresh(self, form: dict[str, str]) -> JsonDict:
        token = form.get("refresh_token")
        if not token:
            raise Rejected(aad_error("invalid_request", 900144, _missing("refresh_token")))
        record = await self.store.take_secret("refresh", token)
        if record is None or record["client_id"] != self.app.client_id:
            message = "Invalid request. The refresh token is malformed, unknown or was already used."
            raise Rejected(aad_error("invalid_grant", 9002313, message))
        sessions = session_key(record["tenant_id"], record["oid"])
        valid_from = await self.store.get("sessions_valid_from", sessions)
        generation = await self.store.count(sessions)
        if record["generation"] != generation:
            message = (
                "The provided grant has expired due to it being revoked, a fresh auth token is needed. "
                f"The grant was issued on '{record['issued']}' and the TokensValidFrom date (before "
                f"which tokens are not valid) for this user is '{(valid_from or {}).get('at')}'."
            )
            raise Rejected(aad_error("invalid_grant", 50173, message))
        return record


def _pkce_matches(verifier: str, challenge: str) -> bool:
    digest = hashlib.sha256(verifier.encode()).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return bool(verifier) and hmac.compare_digest(computed, challenge)


def _check_tenant(grant: JsonDict, authority: str) -> None:
    tenants = world.tenants_for(authority) or ()
    if all(t.id != grant["tenant_id"] for t in tenants):
        message = "The provided grant was issued for another tenant than the one in the request URL."
        raise Rejected(aad_error("invalid_grant", 70000, message))


def _check_requested_scopes(form: dict[str, str], grant: JsonDict, app: SandboxApp) -> None:
    # `scope` is optional at the token endpoint; when sent it may only narrow what was consented.
    if not form.get("scope", "").strip():
        return
    try:
        requested = parse_scopes(form["scope"])
    except InvalidScope as exc:
        raise Rejected(aad_error("invalid_scope", 70011, BAD_SCOPE.format(scope=exc))) from None
    if not set(requested.graph) <= set(grant["graph"]):
        message = NOT_CONSENTED.format(client_id=app.client_id, name=app.name)
        raise Rejected(aad_error("invalid_grant", 65001, message))


def _account_picker(tenants: tuple[world.Tenant, ...], params: dict[str, str], admin: bool = False) -> Picker:
    hint = (params.get("login_hint") or params.get("domain_hint") or "").lower()
    options = []
    for index, tenant in enumerate(tenants):
        user = tenant.user
        note = " — users need admin consent" if tenant.requires_admin_consent and not admin else ""
        label = f"{'Admin of ' if admin else ''}{user.display_name} ({user.upn}) — {tenant.display_name}"
        label += note
        selected = hint in (user.upn, tenant.domain, tenant.id) if hint else index == 0
        options.append(Option(tenant.id, label, selected))
    return Picker("tenant", "tenant_id", "Sign in as", [("", options)])


def _redirect(uri: str, params: dict[str, str], query: dict[str, str]) -> Response:
    if "state" in params:
        query = query | {"state": params["state"]}
    return redirect_with(uri, query)


def build_router(app: SandboxApp, store: SandboxStore, canary: str) -> APIRouter:
    """All Microsoft Teams sandbox routes: the login host and Graph, under `/sandbox/msteams`."""
    login = MsTeamsLogin(app, store, canary)
    router = APIRouter(prefix="/sandbox/msteams", include_in_schema=False)
    authorize = "/login/{tenant}/oauth2/v2.0/authorize"
    router.add_api_route(authorize, login.show_consent, methods=["GET"])
    router.add_api_route(authorize, login.decide, methods=["POST"])
    admin = "/login/{tenant}/v2.0/adminconsent"
    router.add_api_route(admin, login.show_admin_consent, methods=["GET"])
    router.add_api_route(admin, login.decide_admin_consent, methods=["POST"])
    token = faults.with_faults(store, "msteams", "token", login.token)
    router.add_api_route("/login/{tenant}/oauth2/v2.0/token", token, methods=["POST"])
    msteams_graph.GraphApi(app, store).add_routes(router)
    return router
