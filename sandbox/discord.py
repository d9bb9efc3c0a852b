"""Discord sandbox, OAuth2 side: the quirks of Discord's authorization server (PROVIDERS.md §1.2-1.6).

The mechanics are `oauth_server`'s; the REST side (guilds, channels, webhooks) lives in `discord_api`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request

from sandbox import discord_api, faults, fixtures
from sandbox.oauth_quirks import Approval, Denied, Failure, OAuthHooks, OAuthQuirks, PageError, rfc_error
from sandbox.oauth_server import AuthorizationServer
from sandbox.pages import Consent, Option, Picker, error_page
from sandbox.store import JsonDict, SandboxStore
from sandbox.web import Rejected

if TYPE_CHECKING:
    from sandbox import SandboxApp

KNOWN_SCOPES = frozenset(
    {
        "activities.read", "activities.write", "applications.builds.read",
        "applications.commands", "applications.commands.permissions.update",
        "applications.entitlements", "applications.store.update", "bot", "connections",
        "dm_channels.read", "email", "gdm.join", "guilds", "guilds.join", "guilds.members.read",
        "identify", "messages.read", "openid", "relationships.read", "role_connections.write",
        "rpc", "rpc.notifications.read", "voice", "webhook.incoming",
    }
)  # fmt: skip
# Scopes that make Discord show the server picker.
PLACEMENT_SCOPES = frozenset({"bot", "webhook.incoming"})
ACCESS_TTL = 604800
GRANT_TTL = 90 * 86400
DENIED = "The resource owner or authorization server denied the request"
FORWARDED = ("response_type", "client_id", "scope", "redirect_uri", "state", "permissions", "prompt")


FORM_ONLY = "Request body must be form-encoded."
INVALID = 'Invalid "{}" in request.'
QUIRKS = OAuthQuirks(
    code_ttl=100,  # a Discord staffer's figure (PROVIDERS.md §1.3)
    malformed=PageError("Invalid OAuth2 request", "The request is malformed."),
    unknown_client=PageError("Unknown Application", "Invalid OAuth2 client_id."),
    redirect_mismatch=PageError("Invalid OAuth2 redirect_uri", "Invalid OAuth2 redirect_uri"),
    cancel={"error": "access_denied", "error_description": DENIED},
    errors={
        Failure.MALFORMED: rfc_error("invalid_request", FORM_ONLY),
        Failure.TWO_CLIENT_AUTHS: rfc_error("invalid_request", "Use one client authentication method."),
        Failure.UNKNOWN_CLIENT: rfc_error("invalid_client", status=401),
        Failure.BAD_SECRET: rfc_error("invalid_client", status=401),
        Failure.UNSUPPORTED_GRANT_TYPE: rfc_error("unsupported_grant_type", INVALID.format("grant_type")),
        Failure.MISSING_CODE: rfc_error("invalid_request", 'Missing "code" in request.'),
        Failure.BAD_CODE: rfc_error("invalid_grant", INVALID.format("code")),  # redirect mismatch too
        Failure.BAD_REFRESH: rfc_error("invalid_grant", INVALID.format("refresh_token")),
        Failure.MISSING_TOKEN: rfc_error("invalid_request", 'Missing "token" in request.'),
    },
)
Scopes = list[str]


class DiscordHooks(OAuthHooks[Scopes]):
    """Discord's scope rules, server/channel picker, and token response (guild, webhook)."""

    def __init__(self, app: SandboxApp, store: SandboxStore, canary: str) -> None:
        super().__init__(app, store, canary)
        self.api = discord_api.DiscordApi(app, store, canary)

    async def validate(self, params: dict[str, str], path: Mapping[str, Any]) -> Scopes:
        """response_type, scopes and the permissions bitfield; errors redirect with `error`."""
        if params.get("response_type") != "code":
            raise _denied("unsupported_response_type", "Invalid response_type")
        scopes = params.get("scope", "").split()
        if not scopes or not set(scopes) <= KNOWN_SCOPES:
            raise _denied("invalid_scope", "The requested scope is invalid.")
        if not params.get("permissions", "0").isdigit():
            raise _denied("invalid_request", "Invalid permissions.")
        return scopes

    def consent(self, params: dict[str, str], request: Scopes, action: str) -> Consent:
        """Discord's authorize page, with server and channel pickers for bot/webhook scopes."""
        hidden = {name: params[name] for name in FORWARDED if name in params}
        pickers = _pickers(params.get("guild_id")) if PLACEMENT_SCOPES & set(request) else ()
        return Consent(
            title=f"Discord (sandbox) — authorize {self.app.name}",
            intro=f"{self.app.name} wants to access your Discord account (sandbox user).",
            scopes=request,
            action=action,
            hidden=hidden,
            pickers=pickers,
        )

    async def approve(self, form: dict[str, str], request: Scopes) -> Approval:
        """The chosen server and channel; Discord adds the bot to the server right here."""
        guild_id, channel_id = _placement(form, request)
        record = {"scopes": request, "guild_id": guild_id, "channel_id": channel_id}
        if "bot" not in request or not guild_id:
            return Approval(record)
        await self.store.add_flag("bot_guilds", guild_id)
        return Approval(record, {"guild_id": guild_id, "permissions": form.get("permissions", "0")})

    async def issue(self, request: Request, params: dict[str, str], record: JsonDict) -> JsonDict:
        """The base token pair, plus `guild` (bot scope) and a new `webhook` (webhook.incoming)."""
        body = await self._issue(record["scopes"], secrets.token_urlsafe(16))
        guild = fixtures.discord_guild(record.get("guild_id"))
        if "bot" in record["scopes"] and guild is not None:
            body["guild"] = discord_api.full_guild(guild)
        if "webhook.incoming" in record["scopes"]:
            body["webhook"] = await self.api.create_webhook(request, record)
        return body

    async def refresh(self, request: Request, params: dict[str, str], record: JsonDict) -> JsonDict:
        """A new pair for the same authorization; the old access token dies as well."""
        await self.store.revoke_grant(record["grant"])
        return await self._issue(record["scopes"], record["grant"])

    async def _issue(self, scopes: list[str], grant_id: str) -> JsonDict:
        access = f"{self.canary}-{secrets.token_urlsafe(24)}"
        refresh = f"{self.canary}-{secrets.token_urlsafe(24)}"
        record = {"grant": grant_id, "client_id": self.app.client_id, "scopes": scopes}
        record["guild_ids"] = [g.id for g in fixtures.DISCORD_GUILDS]
        await self.store.put_secret("access", access, record, ACCESS_TTL)
        await self.store.put_secret("refresh", refresh, record, GRANT_TTL)
        for kind, secret in (("access", access), ("refresh", refresh)):
            await self.store.link_to_grant(grant_id, kind, secret, GRANT_TTL)
        await self.store.add_flag("grants", grant_id)  # what the user's "Deauthorize" revokes
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ACCESS_TTL,
            "refresh_token": refresh,
            "scope": " ".join(scopes),
        }


def _denied(error: str, description: str) -> Denied:
    return Denied({"error": error, "error_description": description})


def _placement(form: dict[str, str], scopes: list[str]) -> tuple[str | None, str | None]:
    if not PLACEMENT_SCOPES & set(scopes):
        return None, None
    guild = fixtures.discord_guild(form.get("guild_id"))
    if guild is None:
        raise Rejected(error_page("Invalid server", "Choose one of your servers."))
    channel_id = form.get("channel_id")
    needs_channel = "webhook.incoming" in scopes or channel_id is not None
    if needs_channel and guild.channel(channel_id) is None:
        raise Rejected(error_page("Invalid channel", "Choose a text channel of that server."))
    return guild.id, channel_id


def _pickers(preselected: str | None) -> tuple[Picker, ...]:
    guild = fixtures.discord_guild(preselected) or fixtures.DISCORD_GUILDS[0]
    guilds = [Option(g.id, g.name, g.id == guild.id) for g in fixtures.DISCORD_GUILDS]
    default_channel = guild.text_channels[0].id
    channels = [
        (g.name, [Option(c.id, f"#{c.name}", c.id == default_channel) for c in g.text_channels])
        for g in fixtures.DISCORD_GUILDS
    ]
    return (
        Picker("guild", "guild_id", "Add to server", [("", guilds)]),
        Picker("channel", "channel_id", "Post webhook messages to", channels),
    )


def build_router(app: SandboxApp, store: SandboxStore, canary: str) -> APIRouter:
    """All Discord sandbox routes under `/sandbox/discord`."""
    hooks = DiscordHooks(app, store, canary)
    oauth = AuthorizationServer(QUIRKS, hooks, app, store)
    router = APIRouter(prefix="/sandbox/discord", include_in_schema=False)
    router.add_api_route("/oauth2/authorize", oauth.show_consent, methods=["GET"])
    router.add_api_route("/oauth2/authorize", oauth.decide, methods=["POST"])
    for api_base in ("/api", "/api/v10"):  # Discord serves both; docs use either
        token = faults.with_faults(store, "discord", "token", oauth.token)
        router.add_api_route(f"{api_base}/oauth2/token", token, methods=["POST"])
        router.add_api_route(f"{api_base}/oauth2/token/revoke", oauth.revoke, methods=["POST"])
    hooks.api.add_routes(router)
    return router
