"""Slack sandbox, OAuth v2 side: the quirks of Slack's authorize and `oauth.v2.access` (PROVIDERS.md §2.2-5).

The mechanics are `oauth_server`'s; the Web API methods and incoming webhooks live in `slack_api`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request

from sandbox import faults, fixtures, slack_api
from sandbox.oauth_quirks import Approval, Denied, ErrorFactory, Failure, OAuthHooks, OAuthQuirks, PageError
from sandbox.oauth_server import AuthorizationServer
from sandbox.pages import Consent, Option, Picker, error_page
from sandbox.slack_api import slack_error
from sandbox.store import JsonDict, SandboxStore
from sandbox.web import Rejected

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
ROTATING_TTL = 43200  # with token rotation, access tokens live 12 h (PROVIDERS.md §2.5)
FORWARDED = ("client_id", "scope", "user_scope", "redirect_uri", "state", "team")


def _error(name: str) -> ErrorFactory:
    return lambda _context: slack_error(name)  # failures are HTTP 200 with `ok: false`


QUIRKS = OAuthQuirks(
    code_ttl=600,
    malformed=PageError("Invalid request", "The request is malformed."),
    unknown_client=PageError("Invalid client_id parameter", "Unknown application."),
    redirect_mismatch=PageError("Invalid redirect_uri", "redirect_uri did not match any configured URIs."),
    choose="Choose Allow or Cancel.",
    default_grant="authorization_code",
    errors={
        Failure.MALFORMED: _error("invalid_form_data"),
        Failure.TWO_CLIENT_AUTHS: _error("invalid_arguments"),  # (recalled) Slack's generic bad-call error
        Failure.UNKNOWN_CLIENT: _error("invalid_client_id"),
        Failure.BAD_SECRET: _error("bad_client_secret"),
        Failure.UNSUPPORTED_GRANT_TYPE: _error("invalid_grant_type"),
        Failure.BAD_CODE: _error("invalid_code"),
        Failure.REDIRECT_MISMATCH: _error("bad_redirect_uri"),
        Failure.BAD_REFRESH: _error("invalid_refresh_token"),
    },
)
Scopes = tuple[list[str], list[str]]  # bot scopes, user scopes


def _scope_list(value: str) -> list[str]:
    return [scope.strip() for scope in value.split(",") if scope.strip()]


class SlackHooks(OAuthHooks[Scopes]):
    """Slack's comma-separated scopes, channel picker, and `oauth.v2.access` response."""

    def __init__(self, app: SandboxApp, store: SandboxStore, canary: str) -> None:
        super().__init__(app, store, canary)
        self.api = slack_api.SlackApi(app, store, canary)

    async def validate(self, params: dict[str, str], path: Mapping[str, Any]) -> Scopes:
        """Bot and user scopes: at least one, all known; otherwise `error=invalid_scope`."""
        scopes = _scope_list(params.get("scope", ""))
        user_scopes = _scope_list(params.get("user_scope", ""))
        if not scopes + user_scopes or not set(scopes + user_scopes) <= KNOWN_SCOPES:
            raise Denied({"error": "invalid_scope"})
        return scopes, user_scopes

    def consent(self, params: dict[str, str], request: Scopes, action: str) -> Consent:
        """Slack's install page, with a channel picker for `incoming-webhook`."""
        scopes, user_scopes = request
        hidden = {name: params[name] for name in FORWARDED if name in params}
        pickers = (_team_picker(params.get("team")),)
        pickers += (_channel_picker(),) if "incoming-webhook" in scopes else ()
        return Consent(
            title=f"Slack (sandbox) — install {self.app.name}",
            intro=f"{self.app.name} is requesting permission to access a Slack workspace of yours.",
            scopes=scopes + user_scopes,
            action=action,
            hidden=hidden,
            pickers=pickers,
        )

    async def approve(self, form: dict[str, str], request: Scopes) -> Approval:
        """The chosen channel (needed with `incoming-webhook`)."""
        scopes, user_scopes = request
        channel_id = form.get("channel_id")
        if "incoming-webhook" in scopes and fixtures.slack_channel(channel_id) is None:
            raise Rejected(error_page("Invalid channel", "Choose a channel to post to."))
        team = fixtures.slack_team(form.get("team_id", fixtures.SLACK_TEAM_ID))
        if team is None:
            raise Rejected(error_page("Invalid workspace", "Choose a workspace."))
        approval = {"scopes": scopes, "user_scopes": user_scopes, "channel_id": channel_id}
        return Approval(approval | {"team_id": team.id})

    async def issue(self, request: Request, params: dict[str, str], record: JsonDict) -> JsonDict:
        """Bot token at the top level, `authed_user`, and `incoming_webhook` when that scope was granted."""
        body = {"ok": True, "app_id": fixtures.SLACK_APP_ID}
        body["authed_user"] = await self._authed_user(record["user_scopes"])
        team_id = record.get("team_id", fixtures.SLACK_TEAM_ID)
        body |= await self._bot_token(record["scopes"], team_id)
        if "incoming-webhook" in record["scopes"]:
            body["incoming_webhook"] = await self.api.create_hook(request, record["channel_id"], team_id)
        return body

    async def refresh(self, request: Request, params: dict[str, str], record: JsonDict) -> JsonDict:
        """Token rotation: a new expiring bot token and a new refresh token."""
        team_id = record.get("team_id", fixtures.SLACK_TEAM_ID)
        bot = await self._bot_token(record["scopes"], team_id, rotate=True)
        return {"ok": True, "app_id": fixtures.SLACK_APP_ID} | bot

    async def _bot_token(self, scopes: list[str], team_id: str, rotate: bool | None = None) -> JsonDict:
        rotate = self.app.token_rotation if rotate is None else rotate
        prefix = "xoxe.xoxb-1" if rotate else "xoxb"
        token = f"{prefix}-{self.canary}-{secrets.token_urlsafe(24)}"
        record = {"kind": "bot", "client_id": self.app.client_id, "scopes": scopes, "team_id": team_id}
        await self.store.put_secret("token", token, record, ROTATING_TTL if rotate else None)
        await self.api.remember("token", token)
        body: JsonDict = {"scope": ",".join(scopes), "token_type": "bot", "access_token": token}
        if rotate:
            body |= {"expires_in": ROTATING_TTL, "refresh_token": await self._refresh_token(scopes, team_id)}
        chosen = fixtures.slack_team(team_id) or fixtures.SLACK_TEAMS[0]
        team = {"id": chosen.id, "name": chosen.name}
        body |= {"bot_user_id": fixtures.SLACK_BOT_USER_ID, "team": team, "enterprise": None}
        return body | {"is_enterprise_install": False}

    async def _refresh_token(self, scopes: list[str], team_id: str) -> str:
        token = f"xoxe-1-{self.canary}-{secrets.token_urlsafe(32)}"
        record = {"client_id": self.app.client_id, "scopes": scopes, "team_id": team_id}
        await self.store.put_secret("refresh", token, record)
        await self.api.remember("refresh", token)
        return token

    async def _authed_user(self, user_scopes: list[str]) -> JsonDict:
        user: JsonDict = {"id": fixtures.SLACK_USER_ID}
        if not user_scopes:
            return user  # only `id` when no user scopes were requested (PROVIDERS.md §2.4)
        token = f"xoxp-{self.canary}-{secrets.token_urlsafe(24)}"
        record = {"kind": "user", "client_id": self.app.client_id, "scopes": user_scopes}
        await self.store.put_secret("token", token, record)
        await self.api.remember("token", token)
        scope = ",".join(user_scopes)
        return user | {"scope": scope, "access_token": token, "token_type": "user"}


def _team_picker(wanted: str | None) -> Picker:
    """The workspace to install to (Slack's `team` parameter preselects one)."""
    chosen = fixtures.slack_team(wanted) or fixtures.SLACK_TEAMS[0]
    options = [Option(t.id, t.name, t == chosen) for t in fixtures.SLACK_TEAMS]
    return Picker("workspace", "team_id", "Workspace", [("", options)])


def _channel_picker() -> Picker:
    options = [Option(c.id, f"#{c.name}", i == 0) for i, c in enumerate(fixtures.SLACK_CHANNELS)]
    return Picker("channel", "channel_id", "Post to", [("", options)])


def build_router(app: SandboxApp, store: SandboxStore, canary: str) -> APIRouter:
    """All Slack sandbox routes under `/sandbox/slack`."""
    hooks = SlackHooks(app, store, canary)
    oauth = AuthorizationServer(QUIRKS, hooks, app, store)
    router = APIRouter(prefix="/sandbox/slack", include_in_schema=False)
    router.add_api_route("/oauth/v2/authorize", oauth.show_consent, methods=["GET"])
    router.add_api_route("/oauth/v2/authorize", oauth.decide, methods=["POST"])
    access = faults.with_faults(store, "slack", "token", oauth.token)
    router.add_api_route("/api/oauth.v2.access", access, methods=["POST"])
    hooks.api.add_routes(router)
    return router
