"""WhatsApp sandbox, signup side: the Embedded Signup dialog, `oauth/access_token` and `debug_token`
(PROVIDERS.md §6.2-6.3). The Graph endpoints a business token is used on live in `whatsapp_graph`.

The real popup is Meta's JS SDK; its result reaches the console only through `window.postMessage` to
the opener. The sandbox's stand-in ends the same way, so the console's listener is exercised for real:
a page whose one script posts the session-info message (a JSON *string*, as Meta sends it) to the
opener's origin, and which is served with a CSP that allows nothing but that script.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from html import escape
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from sandbox import faults, pages, whatsapp_graph
from sandbox import whatsapp_fixtures as fx
from sandbox.oauth_quirks import ErrorFactory, Failure, OAuthHooks, OAuthQuirks, PageError
from sandbox.oauth_server import AuthorizationServer
from sandbox.pages import Consent, Option, Picker, consent_page, error_page
from sandbox.store import JsonDict, SandboxStore, digest
from sandbox.web import Rejected, auth_token, guarded, json_response, query_values, read_form
from sandbox.whatsapp_graph import check_version, graph_error

if TYPE_CHECKING:
    from sandbox import SandboxApp

CODE_TTL = 600  # Facebook Login codes live about ten minutes (recalled)
USED_MEMORY = 86400  # how long a redeemed code answers "has been used" instead of "invalid"
FORWARDED = ("client_id", "config_id", "redirect_uri", "state", "response_type")
CANCEL_STEP = "WABA_PHONE_PROFILE_PICKER"
# Different from the console's own `same-origin`, like a facebook.com popup: the opener link then
# survives only if the console page that opens the popup uses `same-origin-allow-popups`, as with Meta.
OPENER_POLICY = {"Cross-Origin-Opener-Policy": "unsafe-none"}


NOT_IDENTICAL = (
    "Error validating verification code. Please make sure your redirect_uri is identical to the one you "
    "used in the OAuth dialog request"
)


def _graph(message: str, code: int) -> ErrorFactory:
    return lambda _context: graph_error(400, message, code)


def _code(message: str, subcode: int) -> ErrorFactory:
    return lambda _context: graph_error(400, message, 100, subcode=subcode, challenge="invalid_code")


# Facebook Login's code exchange: a GET with the app id and secret as query parameters (§6.3).
QUIRKS = OAuthQuirks(
    code_ttl=CODE_TTL,
    used_code_memory=USED_MEMORY,
    malformed=PageError("Invalid request", "The request is malformed."),
    unknown_client=PageError("Invalid App ID", "The provided app ID does not look like a valid app ID."),
    redirect_mismatch=PageError(
        "URL Blocked", "The redirect URI is not whitelisted in the app's Client OAuth Settings."
    ),
    client_auth=frozenset({"body"}),
    params_from="query",
    default_grant="authorization_code",
    grants=frozenset({"authorization_code"}),
    errors={
        Failure.MALFORMED: _graph("(#100) Invalid parameter", 100),
        Failure.UNSUPPORTED_GRANT_TYPE: _graph("(#100) Unsupported grant_type", 100),  # (sandbox text)
        Failure.MISSING_CLIENT_ID: _graph("Missing client_id parameter.", 101),
        Failure.UNKNOWN_CLIENT: _graph("Error validating application. Invalid application ID.", 101),
        Failure.MISSING_SECRET: _graph("Missing client_secret parameter.", 1),
        Failure.BAD_SECRET: _graph("Error validating client secret.", 1),
        Failure.MISSING_CODE: _graph("Missing authorization code", 1),
        Failure.BAD_CODE: _code("Invalid verification code format.", 36007),
        Failure.USED_CODE: _code("This authorization code has been used.", 36009),
        Failure.REDIRECT_MISMATCH: _code(NOT_IDENTICAL, 36008),
    },
)


class WhatsAppHooks(OAuthHooks[None]):
    """The token endpoint's versioned path and its business token (no refresh, no revoke)."""

    def check_path(self, path: Mapping[str, Any], endpoint: Literal["authorize", "token"]) -> None:
        """Graph paths start with a version like `v22.0`."""
        if endpoint == "token":
            check_version(str(path.get("version", "")), "oauth/access_token")

    async def issue(self, request: Request, params: dict[str, str], record: JsonDict) -> JsonDict:
        """A long-lived business token (`expires_in` absent, as for system-user tokens)."""
        token = f"EAAG{self.canary}{secrets.token_hex(40)}"
        await self.store.put_secret("token", token, record | {"issued_at": int(time.time())})
        await self.store.add_flag(f"waba_tokens:{record['waba_id']}", digest(token))  # for "Remove partner"
        return {"access_token": token, "token_type": "bearer"}


class WhatsAppSignup:
    """Handlers of the signup dialog and the token endpoints for one registered Meta app."""

    def __init__(self, server: AuthorizationServer[None]) -> None:
        self.server = server
        self.app = server.app
        self.store = server.store

    @guarded
    async def show_dialog(self, request: Request) -> Response:
        """GET /dialog: validate like Facebook Login, then render the business/WABA/phone picker."""
        params = self._validated(query_values(request))
        response = consent_page(self._consent(params, request.url.path))
        response.headers.update(OPENER_POLICY)
        return response

    @guarded
    async def decide(self, request: Request) -> Response:
        """POST /dialog: approve issues a code and posts the result to the opener; cancel says so."""
        form = self._validated(await read_form(request))
        wants_json = "application/json" in request.headers.get("accept", "")
        decision = form.get("decision")
        if decision == "cancel":
            message: JsonDict = {"type": "WA_EMBEDDED_SIGNUP", "event": "CANCEL", "version": 3}
            message["data"] = {"current_step": CANCEL_STEP}
            return json_response(message) if wants_json else self._finish_page(message)
        if decision != "approve":
            raise Rejected(error_page("Invalid form", "Choose Authorize or Cancel."))
        ids = _chosen_ids(form)
        record: JsonDict = {"client_id": self.app.client_id, "redirect_uri": ""}  # an SDK code
        record |= ids | {"scopes": list(fx.CONFIG_SCOPES)}
        code = await self.server.issue_code(record)
        if wants_json:
            return json_response({"code": code} | ids, no_store=True)
        data = {key: ids[key] for key in ("phone_number_id", "waba_id", "business_id")}
        message = {"type": "WA_EMBEDDED_SIGNUP", "event": "FINISH", "version": 3, "data": data}
        return self._finish_page(message | {"code": code})

    def _validated(self, params: dict[str, str] | None) -> dict[str, str]:
        # Nothing is ever redirected: the dialog's only channel back is postMessage.
        params = self.server.trusted(params, {})
        if params.get("response_type", "code") != "code":
            raise Rejected(error_page("Invalid request", "Only response_type=code is supported."))
        if params.get("config_id") != fx.CONFIG_ID:
            raise Rejected(error_page("Invalid configuration", "Unknown config_id."))
        return params

    def _consent(self, params: dict[str, str], action: str) -> Consent:
        return Consent(
            title=f"WhatsApp (sandbox) — connect your business to {self.app.name}",
            intro=f"{self.app.name} wants to manage and send messages from a WhatsApp Business "
            "Account of your business.",
            scopes=fx.CONFIG_SCOPES,
            action=action,
            hidden={name: params[name] for name in FORWARDED if name in params},
            pickers=_pickers(),
        )

    def _finish_page(self, message: JsonDict) -> HTMLResponse:
        script = finish_script(message, origin_of(self.app.redirect_uri))
        title = "WhatsApp (sandbox)"
        text = "Finished. This window closes itself." if message["event"] == "FINISH" else "Cancelled."
        document = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title><style>{pages.STYLE}</style></head>"
            f"<body><main><h1>{escape(title)}</h1><p>{escape(text)}</p></main>"
            f"<script>{script}</script></body></html>"
        )
        headers = pages.PAGE_HEADERS | OPENER_POLICY
        headers["Content-Security-Policy"] = (
            f"default-src 'none'; script-src {script_hash(script)}; style-src 'unsafe-inline'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        )
        return HTMLResponse(document, headers=headers)

    @guarded
    async def debug_token(self, request: Request, version: str) -> Response:
        """GET /graph/v{ver}/debug_token?input_token=..., authenticated with the app token."""
        check_version(version, "debug_token")
        params = query_values(request)
        if params is None:
            raise Rejected(graph_error(400, "(#100) Invalid parameter", 100))
        self._app_token(params.get("access_token") or auth_token(request, "Bearer"))
        input_token = params.get("input_token")
        if not input_token:
            raise Rejected(graph_error(400, "(#100) The parameter input_token is required", 100))
        record = await self.store.get_secret("token", input_token)
        if record is None or record["client_id"] != self.app.client_id:
            error = {"code": 190, "message": "Invalid OAuth access token - Cannot parse access token"}
            return json_response({"data": {"error": error, "is_valid": False, "scopes": []}})
        return json_response({"data": self._token_data(record)})

    def _app_token(self, token: str | None) -> None:
        if not token:
            message = "An access token is required to request this resource."
            raise Rejected(graph_error(401, message, 104, challenge="invalid_token"))
        client_id, _, secret = token.partition("|")
        if client_id != self.app.client_id:
            message = "Invalid OAuth access token - Cannot parse access token"
            raise Rejected(graph_error(401, message, 190, challenge="invalid_token"))
        if not hmac.compare_digest(secret.encode(), self.app.client_secret.encode()):
            message = "Invalid OAuth access token signature."
            raise Rejected(graph_error(401, message, 190, challenge="invalid_token"))

    def _token_data(self, record: JsonDict) -> JsonDict:
        targets = {"business_management": record["business_id"]}
        granular = [
            {"scope": scope, "target_ids": [targets.get(scope, record["waba_id"])]}
            for scope in record["scopes"]
        ]
        return {
            "app_id": self.app.client_id,
            "type": "SYSTEM_USER",
            "application": self.app.name,
            "data_access_expires_at": 0,
            "expires_at": 0,  # business integration system-user tokens do not expire
            "is_valid": True,
            "issued_at": record["issued_at"],
            "scopes": record["scopes"],
            "granular_scopes": granular,
            "user_id": fx.SYSTEM_USER_ID,
        }


def finish_script(message: JsonDict, origin: str) -> str:
    """The dialog's only script: post `message` as a JSON string to the opener, then close."""
    payload = json.dumps(message, separators=(",", ":"))
    return (
        "(function(){var o=window.opener;"
        f"if(o){{o.postMessage({_js_string(payload)},{_js_string(origin)});}}"
        "window.close();})();"
    )


def script_hash(script: str) -> str:
    """CSP source allowing exactly this inline script."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def origin_of(uri: str) -> str:
    """The web origin of a URL (scheme://host[:port], default port dropped)."""
    parts = urlsplit(uri)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def _js_string(value: str) -> str:
    # A JS string literal that cannot end the <script> element or start markup.
    text = json.dumps(value)  # ASCII only, so U+2028/U+2029 are escaped too
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _chosen_ids(form: dict[str, str]) -> dict[str, str]:
    business = fx.business(form.get("business_id"))
    waba = fx.waba(form.get("waba_id"))
    found = fx.phone(form.get("phone_number_id"))
    if business is None or waba is None or waba not in business.wabas:
        raise Rejected(error_page("Invalid account", "Choose a WhatsApp Business Account of that business."))
    if found is None or found[0] != waba:
        raise Rejected(error_page("Invalid phone number", "Choose a phone number of that account."))
    return {"business_id": business.id, "waba_id": waba.id, "phone_number_id": found[1].id}


def _pickers() -> tuple[Picker, ...]:
    businesses = [Option(b.id, b.name, i == 0) for i, b in enumerate(fx.BUSINESSES)]
    wabas = [(b.name, [Option(w.id, w.name) for w in b.wabas]) for b in fx.BUSINESSES]
    phones = [
        (w.name, [Option(p.id, f"{p.display_phone_number} ({p.verified_name})") for p in w.phones])
        for b in fx.BUSINESSES
        for w in b.wabas
    ]
    return (
        Picker("business", "business_id", "Business portfolio", [("", businesses)]),
        Picker("waba", "waba_id", "WhatsApp Business Account", wabas),
        Picker("phone", "phone_number_id", "Phone number", phones),
    )


def build_router(app: SandboxApp, store: SandboxStore, canary: str) -> APIRouter:
    """All WhatsApp sandbox routes under `/sandbox/whatsapp`."""
    server = AuthorizationServer(QUIRKS, WhatsAppHooks(app, store, canary), app, store)
    signup = WhatsAppSignup(server)
    graph = whatsapp_graph.GraphApi(app, store)
    router = APIRouter(prefix="/sandbox/whatsapp", include_in_schema=False)
    router.add_api_route("/dialog", signup.show_dialog, methods=["GET"])
    router.add_api_route("/dialog", signup.decide, methods=["POST"])
    token = faults.with_faults(store, "whatsapp", "token", server.token)
    router.add_api_route("/graph/{version}/oauth/access_token", token, methods=["GET"])
    debug = faults.with_faults(store, "whatsapp", "api", signup.debug_token)
    router.add_api_route("/graph/{version}/debug_token", debug, methods=["GET"])
    graph.add_routes(router)
    return router
