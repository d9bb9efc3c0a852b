"""Microsoft Teams sandbox, identity side: the quirks of Entra's authorization server (PROVIDERS.md §3.2-3.5).

Served as the login host under `/sandbox/msteams/login/{tenant}/...`; the mechanics are `oauth_server`'s,
admin consent is here, Graph lives in `msteams_graph`. The sandbox enforces PKCE S256 on every code (Entra
only recommends it) and, stricter than Entra, invalidates a refresh token once it has been used: a console
that forgets to store the rotated refresh token fails here, not in production 90 days later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sandbox import faults, msteams_graph, msteams_messages
from sandbox import msteams_fixtures as world
from sandbox.msteams_quirks import BAD_SCOPE, NOT_CONSENTED, QUIRKS, missing
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
from sandbox.oauth_checks import S256_CHALLENGE
from sandbox.oauth_quirks import Approval, Denied, OAuthHooks
from sandbox.oauth_server import AuthorizationServer
from sandbox.pages import Consent, Option, Picker, consent_page, error_page
from sandbox.store import JsonDict, SandboxStore
from sandbox.web import Rejected, guarded, query_values, read_form

if TYPE_CHECKING:
    from sandbox import SandboxApp

PROMPTS = ("login", "none", "consent", "select_account")
FORWARDED = (
    "client_id", "response_type", "redirect_uri", "scope", "state", "response_mode", "code_challenge",
    "code_challenge_method", "nonce", "prompt", "login_hint", "domain_hint",
)  # fmt: skip
ADMIN_FORWARDED = ("client_id", "redirect_uri", "scope", "state")
Parsed = tuple[tuple[world.Tenant, ...], Scopes]


class MsTeamsHooks(OAuthHooks[Parsed]):
    """Entra's tenants, parameters and scopes, the account picker, and its JWT-shaped tokens."""

    def __init__(self, app: SandboxApp, store: SandboxStore, canary: str) -> None:
        super().__init__(app, store, canary)
        self.issuer = TokenIssuer(app, store, canary)

    def check_path(self, path: Mapping[str, Any], endpoint: Literal["authorize", "token"]) -> None:
        """The `{tenant}` segment must name a tenant (or `organizations`, `common`)."""
        tenant = str(path.get("tenant", ""))
        if world.tenants_for(tenant) is not None:
            return
        if endpoint == "token":
            raise Rejected(aad_error("invalid_request", 90002, f"Tenant '{tenant}' not found."))
        raise Rejected(error_page("Sign in", f"AADSTS90002: Tenant '{tenant}' not found."))

    async def validate(self, params: dict[str, str], path: Mapping[str, Any]) -> Parsed:
        """response_type, response_mode, prompt, PKCE S256 and scopes, with AADSTS error redirects."""
        response_type = params.get("response_type")
        if not response_type:
            raise _denied("invalid_request", 900144, missing("response_type"))
        if response_type != "code":
            message = f"response_type '{response_type}' is not enabled for the application."
            raise _denied("unsupported_response_type", 700054, message)
        if params.get("response_mode", "query") != "query":
            message = "Invalid request. The sandbox answers with response_mode=query only."
            raise _denied("invalid_request", 9002313, message)
        if params.get("prompt", "login") not in PROMPTS:
            raise _denied("invalid_request", 9002313, "Invalid 'prompt' value.")
        _check_pkce(params)
        return world.tenants_for(str(path["tenant"])) or (), _scopes(params)

    def consent(self, params: dict[str, str], request: Parsed, action: str) -> Consent:
        """Pick the work account to sign in with, then review the permissions."""
        tenants, scopes = request
        hidden = {name: params[name] for name in FORWARDED if name in params}
        return Consent(
            title=f"Microsoft (sandbox) — {self.app.name} wants to access your account",
            intro="Pick the work account to sign in with, then review the permissions.",
            scopes=[*scopes.oidc, *(GRAPH + scope for scope in scopes.graph)],
            action=action,
            hidden=hidden,
            pickers=(_account_picker(tenants, params),),
        )

    async def on_show(self, params: dict[str, str], request: Parsed) -> Approval | None:
        """`prompt=none` fails: the sandbox never has a signed-in browser session."""
        if params.get("prompt") == "none":
            message = "A silent sign-in request was sent but no user is signed in."
            raise _denied("login_required", 50058, message)
        return None

    async def approve(self, form: dict[str, str], request: Parsed) -> Approval:
        """The chosen account; admin-only permissions or tenants need the tenant's admin consent first."""
        tenants, scopes = request
        chosen = next((t for t in tenants if t.id == form.get("tenant_id")), None)
        if chosen is None:
            raise Rejected(error_page("Invalid account", "Choose one of the listed accounts."))
        needs_admin = chosen.requires_admin_consent or bool(ADMIN_ONLY_SCOPES & set(scopes.graph))
        if needs_admin and not await self.store.has_flag(
            "admin_consent", f"{chosen.id}:{self.app.client_id}"
        ):
            raise _denied(
                "consent_required",
                65001,
                NOT_CONSENTED.format(client_id=self.app.client_id, name=self.app.name),
            )
        record: JsonDict = {"tenant_id": chosen.id, "oid": chosen.user.oid, "nonce": form.get("nonce")}
        return Approval(record | {"oidc": scopes.oidc, "graph": scopes.graph})

    async def issue(self, request: Request, params: dict[str, str], record: JsonDict) -> JsonDict:
        """Entra's token response, for a grant used at its own tenant and narrowed by `scope` at most."""
        _check_tenant(record, str(request.path_params["tenant"]))
        _check_requested_scopes(params, record, self.app)
        return await self.issuer.issue(record)

    async def refresh(self, request: Request, params: dict[str, str], record: JsonDict) -> JsonDict:
        """A rotated refresh token, unless the user's sessions were revoked since it was issued."""
        sessions = session_key(record["tenant_id"], record["oid"])
        valid_from = await self.store.get("sessions_valid_from", sessions)
        if record["generation"] != await self.store.count(sessions):
            message = (
                "The provided grant has expired due to it being revoked, a fresh auth token is needed. "
                f"The grant was issued on '{record['issued']}' and the TokensValidFrom date (before "
                f"which tokens are not valid) for this user is '{(valid_from or {}).get('at')}'."
            )
            raise Rejected(aad_error("invalid_grant", 50173, message))
        return await self.issue(request, params, record)


class AdminConsent:
    """`/{tenant}/v2.0/adminconsent`: an admin of the chosen tenant consents for everyone (§3.3)."""

    def __init__(self, server: AuthorizationServer[Parsed]) -> None:
        self.server = server
        self.app = server.app
        self.store = server.store

    @guarded
    async def show(self, request: Request) -> Response:
        """GET: the tenant picker and the app's configured permissions."""
        params, tenants = self._validated(query_values(request), request)
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
    async def decide(self, request: Request) -> Response:
        """POST: grant for the tenant, or decline."""
        form, tenants = self._validated(await read_form(request), request)
        decision = form.get("decision")
        if decision == "cancel":
            message = describe(65004, "User declined to consent to access the app.")
            query = {"admin_consent": "True", "error": "access_denied", "error_description": message}
            return self.server.callback(form, query)
        chosen = next((t for t in tenants if t.id == form.get("tenant_id")), None)
        if decision != "approve" or chosen is None:
            raise Rejected(error_page("Invalid form", "Choose a tenant, then Accept or Cancel."))
        await self.store.add_flag("admin_consent", f"{chosen.id}:{self.app.client_id}")
        granted = " ".join(GRAPH + scope for scope in APP_PERMISSIONS)
        return self.server.callback(form, {"admin_consent": "True", "tenant": chosen.id, "scope": granted})

    def _validated(
        self, params: dict[str, str] | None, request: Request
    ) -> tuple[dict[str, str], tuple[world.Tenant, ...]]:
        tenant = str(request.path_params["tenant"])
        if tenant.lower() == "common":  # PROVIDERS.md §3.3: GUID or `organizations`, never `common`
            raise Rejected(error_page("Sign in", "AADSTS90009: Admin consent needs a tenant, not 'common'."))
        params = self.server.trusted(params, request.path_params)
        scope = params.get("scope", "").split()
        if not scope or any(s.lower() != GRAPH + ".default" for s in scope):
            message = "The admin consent endpoint takes scope=https://graph.microsoft.com/.default only."
            query = {"error": "invalid_scope", "error_description": describe(70011, message)}
            raise Rejected(self.server.callback(params, query))
        return params, world.tenants_for(tenant) or ()


def _denied(error: str, code: int, message: str) -> Denied:
    return Denied({"error": error, "error_description": describe(code, message)})


def _check_pkce(params: dict[str, str]) -> None:
    challenge = params.get("code_challenge")
    if not challenge:
        raise _denied("invalid_request", 900144, missing("code_challenge"))
    if params.get("code_challenge_method") != "S256" or not S256_CHALLENGE.fullmatch(challenge):
        raise _denied(
            "invalid_request", 9002313, "Invalid request. The sandbox requires code_challenge_method=S256."
        )


def _scopes(params: dict[str, str]) -> Scopes:
    if not params.get("scope", "").strip():
        raise _denied("invalid_request", 900144, missing("scope"))
    try:
        scopes = parse_scopes(params["scope"])
    except InvalidScope as exc:
        raise _denied("invalid_scope", 70011, BAD_SCOPE.format(scope=exc)) from None
    if not scopes.graph:  # stricter than Entra: the console always needs a Graph token
        message = "The provided value for the input parameter 'scope' is not valid: no Graph scope."
        raise _denied("invalid_scope", 70011, message)
    return scopes


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


def build_router(app: SandboxApp, store: SandboxStore, canary: str) -> APIRouter:
    """All Microsoft Teams sandbox routes: the login host and Graph, under `/sandbox/msteams`."""
    login = AuthorizationServer(QUIRKS, MsTeamsHooks(app, store, canary), app, store)
    admin = AdminConsent(login)
    router = APIRouter(prefix="/sandbox/msteams", include_in_schema=False)
    authorize = "/login/{tenant}/oauth2/v2.0/authorize"
    router.add_api_route(authorize, login.show_consent, methods=["GET"])
    router.add_api_route(authorize, login.decide, methods=["POST"])
    admin_consent = "/login/{tenant}/v2.0/adminconsent"
    router.add_api_route(admin_consent, admin.show, methods=["GET"])
    router.add_api_route(admin_consent, admin.decide, methods=["POST"])
    token = faults.with_faults(store, "msteams", "token", login.token)
    router.add_api_route("/login/{tenant}/oauth2/v2.0/token", token, methods=["POST"])
    graph = msteams_graph.GraphApi(app, store)
    graph.add_routes(router)
    msteams_messages.ChannelMessages(graph).add_routes(router)
    return router
