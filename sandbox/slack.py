"""Slack sandbox, OAuth v2 side: authorize/consent and `oauth.v2.access` (PROVIDERS.md §2.2-2.5).

The Web API methods and incoming webhooks live in `slack_api`; `build_router` wires both.
"""

from __future__ import annotations

import hmac
import secrets
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sandbox import faults, fixtures, slack_api
from sandbox.pages import Consent, Option, Picker, consent_page, error_page
from sandbox.slack_api import slack_error
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

KNOWN_SCOPES = frozenset(
    {
        "app_mentions:read", "channels:history", "channels:join", "channels:read", "chat:write",
        "chat:write.customize", "chat:write.public", "commands", "files:read", "files:write",
        "groups:history", "groups:read", "im:history", "im:read", "im:write", "incoming-webhook",
        "links:read", "links:write", "mpim:history", "mpim:read", "reactions:read",
        "reactions:write", "team:read", "users:read", "users:read.email",
    }
)  # fmt: skip
CODE_TTL = 600
ROTATING_TTL = 43200  # with token rotation, access tokens live 12 h (PROVIDERS.md §2.5)
FORWARDED = ("client_id", "scope", "user_scope", "redirect_uri", "state", "team")


def _scope_list(value: str) -> list[str]:
    return [scope.strip() for scope in value.split(",") if scope.strip()]


class SlackOAuth:
    """Handlers of the authorize page and `oauth.v2.access` for one registered app."""

    def __init__(self, app: SandboxApp, store: SandboxStore, canary: str, api: slack_api.SlackApi) -> None:
        self.app = app
        self.store = store
        self.canary = canary
        self.api = api

    @guarded
    async def show_consent(self, request: Request) -> Response:
        """GET /oauth/v2/authorize: validate like Slack, then render the consent page."""
        params, scopes, user_scopes = self._validated(query_values(request))
        return consent_page(self._consent(params, scopes + user_scopes, request.url.path))

    @guarded
    async def decide(self, request: Request) -> Response:
        """POST /oauth/v2/authorize: the consent form's approve or cancel."""
        form, scopes, user_scopes = self._validated(await read_form(request))
        decision = form.get("decision")
        if decision == "cancel":
            raise Rejected(_callback(self.app.redirect_uri, form, {"error": "access_denied"}))
        if decision != "approve":
            raise Rejected(error_page("Invalid form", "Choose Allow or Cancel."))
        channel_id = form.get("channel_id")
        if "incoming-webhook" in scopes and fixtures.slack_channel(channel_id) is None:
            raise Rejected(error_page("Invalid channel", "Choose a channel to post to."))
        record: JsonDict = {"client_id": self.app.client_id, "redirect_uri": self.app.redirect_uri}
        record |= {"scopes": scopes, "user_scopes": user_scopes, "channel_id": channel_id}
        code = await self.store.issue_code(record, CODE_TTL)
        return _callback(self.app.redirect_uri, form, {"code": code})

    def _validated(self, params: dict[str, str] | None) -> tuple[dict[str, str], list[str], list[str]]:
        # Until client and redirect URI are known good, errors are pages, never redirects.
        if params is None:
            raise Rejected(error_page("Invalid request", "The request is malformed."))
        if params.get("client_id") != self.app.client_id:
            raise Rejected(error_page("Invalid client_id parameter", "Unknown application."))
        if params.get("redirect_uri") != self.app.redirect_uri:
            message = "redirect_uri did not match any configured URIs."
            raise Rejected(error_page("Invalid redirect_uri", message))
        scopes = _scope_list(params.get("scope", ""))
        user_scopes = _scope_list(params.get("user_scope", ""))
        if not scopes + user_scopes or not set(scopes + user_scopes) <= KNOWN_SCOPES:
            redirect = _callback(self.app.redirect_uri, params, {"error": "invalid_scope"})
            raise Rejected(redirect)
        return params, scopes, user_scopes

    def _consent(self, params: dict[str, str], scopes: list[str], action: str) -> Consent:
        hidden = {name: params[name] for name in FORWARDED if name in params}
        pickers = (_channel_picker(),) if "incoming-webhook" in scopes else ()
        return Consent(
            title=f"Slack (sandbox) — install {self.app.name} to {fixtures.SLACK_TEAM_NAME}",
            intro=f"{self.app.name} is requesting permission to access the "
            f"{fixtures.SLACK_TEAM_NAME} Slack workspace.",
            scopes=scopes,
            action=action,
            hidden=hidden,
            pickers=pickers,
        )

    @guarded
    async def access(self, request: Request) -> Response:
        """POST /api/oauth.v2.access: failures are HTTP 200 with `ok: false`, like Slack."""
        form = await read_form(request)
        grant_type = (form or {}).get("grant_type", "authorization_code")
        if grant_type == "authorization_code":
            await self.store.incr("token_exchanges")
        if form is None:
            raise Rejected(slack_error("invalid_form_data"))
        self._authenticate(request, form)
        if grant_type == "authorization_code":
            return json_response(await self._redeem_code(request, form), no_store=True)
        if grant_type == "refresh_token":
            return json_response(await self._refresh(form), no_store=True)
        raise Rejected(slack_error("invalid_grant_type"))

    def _authenticate(self, request: Request, form: dict[str, str]) -> None:
        client_id, secret = client_credentials(request, form)
        if client_id != self.app.client_id:
            raise Rejected(slack_error("invalid_client_id"))
        if not hmac.compare_digest(secret.encode(), self.app.client_secret.encode()):
            raise Rejected(slack_error("bad_client_secret"))

    async def _redeem_code(self, request: Request, form: dict[str, str]) -> JsonDict:
        code = form.get("code")
        record = await self.store.take_code(code) if code else None
        if record is None or record["client_id"] != self.app.client_id:
            raise Rejected(slack_error("invalid_code"))
        if form.get("redirect_uri") != record["redirect_uri"]:
            raise Rejected(slack_error("bad_redirect_uri"))
        body = {"ok": True, "app_id": fixtures.SLACK_APP_ID}
        body["authed_user"] = await self._authed_user(record["user_scopes"])
        body |= await self._bot_token(record["scopes"])
        if "incoming-webhook" in record["scopes"]:
            body["incoming_webhook"] = await self.api.create_hook(request, record["channel_id"])
        return body

    async def _refresh(self, form: dict[str, str]) -> JsonDict:
        token = form.get("refresh_token")
        record = await self.store.take_secret("refresh", token) if token else None
        if record is None or record["client_id"] != self.app.client_id:
            raise Rejected(slack_error("invalid_refresh_token"))
        return {"ok": True, "app_id": fixtures.SLACK_APP_ID} | await self._bot_token(
            record["scopes"], rotate=True
        )

    async def _bot_token(self, scopes: list[str], rotate: bool | None = None) -> JsonDict:
        rotate = self.app.token_rotation if rotate is None else rotate
        prefix = "xoxe.xoxb-1" if rotate else "xoxb"
        token = f"{prefix}-{self.canary}-{secrets.token_urlsafe(24)}"
        record = {"kind": "bot", "client_id": self.app.client_id, "scopes": scopes}
        await self.store.put_secret("token", token, record, ROTATING_TTL if rotate else None)
        body: JsonDict = {"scope": ",".join(scopes), "token_type": "bot", "access_token": token}
        if rotate:
            body |= {"expires_in": ROTATING_TTL, "refresh_token": await self._refresh_token(scopes)}
        team = {"id": fixtures.SLACK_TEAM_ID, "name": fixtures.SLACK_TEAM_NAME}
        body |= {"bot_user_id": fixtures.SLACK_BOT_USER_ID, "team": team, "enterprise": None}
        return body | {"is_enterprise_install": False}

    async def _refresh_token(self, scopes: list[str]) -> str:
        token = f"xoxe-1-{self.canary}-{secrets.token_urlsafe(32)}"
        record = {"client_id": self.app.client_id, "scopes": scopes}
        await self.store.put_secret("refresh", token, record)
        return token

    async def _authed_user(self, user_scopes: list[str]) -> JsonDict:
        user: JsonDict = {"id": fixtures.SLACK_USER_ID}
        if not user_scopes:
            return user  # only `id` when no user scopes were requested (PROVIDERS.md §2.4)
        token = f"xoxp-{self.canary}-{secrets.token_urlsafe(24)}"
        record = {"kind": "user", "client_id": self.app.client_id, "scopes": user_scopes}
        await self.store.put_secret("token", token, record)
        scope = ",".join(user_scopes)
        return user | {"scope": scope, "access_token": token, "token_type": "user"}


def _channel_picker() -> Picker:
    options = [Option(c.id, f"#{c.name}", i == 0) for i, c in enumerate(fixtures.SLACK_CHANNELS)]
    return Picker("channel", "channel_id", "Post to", [("", options)])


def _callback(uri: str, params: dict[str, str], query: dict[str, str]) -> Response:
    if "state" in params:
        query = query | {"state": params["state"]}
    return redirect_with(uri, query)


def build_router(app: SandboxApp, store: SandboxStore, canary: str) -> APIRouter:
    """All Slack sandbox routes under `/sandbox/slack`."""
    api = slack_api.SlackApi(app, store, canary)
    oauth = SlackOAuth(app, store, canary, api)
    router = APIRouter(prefix="/sandbox/slack", include_in_schema=False)
    router.add_api_route("/oauth/v2/authorize", oauth.show_consent, methods=["GET"])
    router.add_api_route("/oauth/v2/authorize", oauth.decide, methods=["POST"])
    access = faults.with_faults(store, "slack", "token", oauth.access)
    router.add_api_route("/api/oauth.v2.access", access, methods=["POST"])
    api.add_routes(router)
    return router
