"""Discord sandbox, OAuth2 side: authorize/consent, token, revoke (PROVIDERS.md §1.2-1.6).

The REST side (guilds, channels, webhooks) lives in `discord_api`; `build_router` wires both.
"""

from __future__ import annotations

import hmac
import secrets
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sandbox import discord_api, faults, fixtures
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
CODE_TTL = 100  # a Discord staffer's figure (PROVIDERS.md §1.3)
ACCESS_TTL = 604800
GRANT_TTL = 90 * 86400
DENIED = "The resource owner or authorization server denied the request"
FORWARDED = ("response_type", "client_id", "scope", "redirect_uri", "state", "permissions", "prompt")


class DiscordOAuth:
    """Handlers of the authorize page and the token endpoints for one registered app."""

    def __init__(
        self, app: SandboxApp, store: SandboxStore, canary: str, api: discord_api.DiscordApi
    ) -> None:
        self.app = app
        self.store = store
        self.canary = canary
        self.api = api

    @guarded
    async def show_consent(self, request: Request) -> Response:
        """GET /oauth2/authorize: validate like Discord, then render the consent page."""
        params, scopes = self._validated(query_values(request))
        return consent_page(self._consent(params, scopes, request.url.path))

    @guarded
    async def decide(self, request: Request) -> Response:
        """POST /oauth2/authorize: the consent form's approve or cancel."""
        form, scopes = self._validated(await read_form(request))
        decision = form.get("decision")
        if decision == "cancel":
            raise Rejected(self._deny(form, "access_denied", DENIED))
        if decision != "approve":
            raise Rejected(error_page("Invalid form", "Choose Authorize or Cancel."))
        guild_id, channel_id = self._placement(form, scopes)
        if "bot" in scopes and guild_id:
            await self.store.add_flag("bot_guilds", guild_id)  # Discord adds the bot right here
        record: JsonDict = {"client_id": self.app.client_id, "redirect_uri": self.app.redirect_uri}
        record |= {"scopes": scopes, "guild_id": guild_id, "channel_id": channel_id}
        code = await self.store.issue_code(record, CODE_TTL)
        return redirect_with(self.app.redirect_uri, _callback_params(form, code, scopes, guild_id))

    def _validated(self, params: dict[str, str] | None) -> tuple[dict[str, str], list[str]]:
        # Until client and redirect URI are known good, errors are pages, never redirects.
        if params is None:
            raise Rejected(error_page("Invalid OAuth2 request", "The request is malformed."))
        if params.get("client_id") != self.app.client_id:
            raise Rejected(error_page("Unknown Application", "Invalid OAuth2 client_id."))
        if params.get("redirect_uri") != self.app.redirect_uri:
            raise Rejected(error_page("Invalid OAuth2 redirect_uri", "Invalid OAuth2 redirect_uri"))
        if params.get("response_type") != "code":
            raise Rejected(self._deny(params, "unsupported_response_type", "Invalid response_type"))
        scopes = params.get("scope", "").split()
        if not scopes or not set(scopes) <= KNOWN_SCOPES:
            raise Rejected(self._deny(params, "invalid_scope", "The requested scope is invalid."))
        if not params.get("permissions", "0").isdigit():
            raise Rejected(self._deny(params, "invalid_request", "Invalid permissions."))
        return params, scopes

    def _deny(self, params: dict[str, str], error: str, description: str) -> Response:
        query = {"error": error, "error_description": description}
        if "state" in params:
            query["state"] = params["state"]
        return redirect_with(self.app.redirect_uri, query)

    def _consent(self, params: dict[str, str], scopes: list[str], action: str) -> Consent:
        hidden = {name: params[name] for name in FORWARDED if name in params}
        pickers = _pickers(params.get("guild_id")) if PLACEMENT_SCOPES & set(scopes) else ()
        return Consent(
            title=f"Discord (sandbox) — authorize {self.app.name}",
            intro=f"{self.app.name} wants to access your Discord account (sandbox user).",
            scopes=scopes,
            action=action,
            hidden=hidden,
            pickers=pickers,
        )

    def _placement(self, form: dict[str, str], scopes: list[str]) -> tuple[str | None, str | None]:
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

    @guarded
    async def token(self, request: Request) -> Response:
        """POST /api/oauth2/token: authorization_code and refresh_token grants, form only."""
        form = await read_form(request)
        if form is None or form.get("grant_type") == "authorization_code":
            await self.store.incr("token_exchanges")
        if form is None:
            raise Rejected(_oauth_error("invalid_request", "Request body must be form-encoded."))
        self._authenticate(request, form)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return json_response(await self._redeem_code(request, form), no_store=True)
        if grant_type == "refresh_token":
            return json_response(await self._refresh(form), no_store=True)
        raise Rejected(_oauth_error("unsupported_grant_type", 'Invalid "grant_type" in request.'))

    @guarded
    async def revoke(self, request: Request) -> Response:
        """POST /api/oauth2/token/revoke: revokes every token of the token's authorization."""
        form = await read_form(request)
        if form is None:
            raise Rejected(_oauth_error("invalid_request", "Request body must be form-encoded."))
        self._authenticate(request, form)
        token = form.get("token")
        if not token:
            raise Rejected(_oauth_error("invalid_request", 'Missing "token" in request.'))
        for kind in ("access", "refresh"):
            record = await self.store.get_secret(kind, token)
            if record is not None and record["client_id"] == self.app.client_id:
                await self.store.revoke_grant(record["grant"])
                break
        await self.store.incr("revocations")
        return json_response({})

    def _authenticate(self, request: Request, form: dict[str, str]) -> None:
        client_id, secret = client_credentials(request, form)
        known = client_id == self.app.client_id
        if not (known and hmac.compare_digest(secret.encode(), self.app.client_secret.encode())):
            raise Rejected(json_response({"error": "invalid_client"}, 401))

    async def _redeem_code(self, request: Request, form: dict[str, str]) -> JsonDict:
        code = form.get("code")
        if not code:
            raise Rejected(_oauth_error("invalid_request", 'Missing "code" in request.'))
        record = await self.store.take_code(code)  # consumed even if the checks below fail
        if (
            record is None
            or record["client_id"] != self.app.client_id
            or record["redirect_uri"] != form.get("redirect_uri")
        ):
            raise Rejected(_oauth_error("invalid_grant", 'Invalid "code" in request.'))
        body = await self._issue(record["scopes"], secrets.token_urlsafe(16))
        guild = fixtures.discord_guild(record.get("guild_id"))
        if "bot" in record["scopes"] and guild is not None:
            body["guild"] = discord_api.full_guild(guild)
        if "webhook.incoming" in record["scopes"]:
            body["webhook"] = await self.api.create_webhook(request, record)
        return body

    async def _refresh(self, form: dict[str, str]) -> JsonDict:
        token = form.get("refresh_token")
        record = await self.store.take_secret("refresh", token) if token else None
        if record is None or record["client_id"] != self.app.client_id:
            raise Rejected(_oauth_error("invalid_grant", 'Invalid "refresh_token" in request.'))
        await self.store.revoke_grant(record["grant"])  # the old access token dies as well
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
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ACCESS_TTL,
            "refresh_token": refresh,
            "scope": " ".join(scopes),
        }


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


def _callback_params(
    form: dict[str, str], code: str, scopes: list[str], guild_id: str | None
) -> dict[str, str]:
    params = {"code": code}
    if "state" in form:
        params["state"] = form["state"]
    if "bot" in scopes and guild_id:
        params |= {"guild_id": guild_id, "permissions": form.get("permissions", "0")}
    return params


def _oauth_error(error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, 400, no_store=True)


def build_router(app: SandboxApp, store: SandboxStore, canary: str) -> APIRouter:
    """All Discord sandbox routes under `/sandbox/discord`."""
    api = discord_api.DiscordApi(app, store, canary)
    oauth = DiscordOAuth(app, store, canary, api)
    router = APIRouter(prefix="/sandbox/discord", include_in_schema=False)
    router.add_api_route("/oauth2/authorize", oauth.show_consent, methods=["GET"])
    router.add_api_route("/oauth2/authorize", oauth.decide, methods=["POST"])
    for api_base in ("/api", "/api/v10"):  # Discord serves both; docs use either
        token = faults.with_faults(store, "discord", "token", oauth.token)
        router.add_api_route(f"{api_base}/oauth2/token", token, methods=["POST"])
        router.add_api_route(f"{api_base}/oauth2/token/revoke", oauth.revoke, methods=["POST"])
    api.add_routes(router)
    return router
