"""Discord sandbox, REST side: the user, guilds, channels and webhooks (PROVIDERS.md §1.6-1.8), and the
user's "Deauthorize" (every token and webhook of the app dies; APPLICATION_DEAUTHORIZED is sent).

Channel listing needs the app's bot token, which the sandbox never reports: the console computes it
with `sandbox_bot_token(canary)`, just as a real deployment reads its bot token from configuration.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sandbox import app_events, discord_messages, faults, fixtures
from sandbox.inbox import Inbox, Message
from sandbox.store import JsonDict, SandboxStore, digest
from sandbox.web import (
    JSON_TYPE,
    Rejected,
    auth_token,
    base_url,
    guarded,
    json_response,
    media_type,
    read_json,
)

if TYPE_CHECKING:
    from sandbox import SandboxApp

# Snowflake-looking ids for objects the sandbox creates; a Redis serial keeps them unique per cluster.
WEBHOOK_ID_BASE = 1_190_000_000_000_000_000
MESSAGE_ID_BASE = 1_195_000_000_000_000_000
PUBLIC_THREAD = 11
USER = {
    "id": fixtures.DISCORD_USER_ID,
    "username": "sandbox.user",
    "discriminator": "0",
    "global_name": "Sandbox User",
}


def sandbox_bot_token(canary: str) -> str:
    """The sandbox app's bot token: deterministic per canary, so every worker agrees on it.

    Args:
        canary: the sandbox canary (settings.sandbox_canary).

    Returns:
        The token to send as `Authorization: Bot <token>`.
    """
    tail = hashlib.sha256(f"tms-sandbox-discord-bot:{canary}".encode()).hexdigest()[:40]
    return f"{canary}-bot-{tail}"


def discord_error(status_code: int, message: str, code: int) -> Response:
    """Discord's API error body `{"message", "code"}`."""
    return json_response({"message": message, "code": code}, status_code)


UNAUTHORIZED = (401, "401: Unauthorized", 0)
UNKNOWN_GUILD = (404, "Unknown Guild", 10004)
UNKNOWN_WEBHOOK = (404, "Unknown Webhook", 10015)
INVALID_WEBHOOK_TOKEN = (401, "Invalid Webhook Token", 50027)
MISSING_ACCESS = (403, "Missing Access", 50001)
UNKNOWN_CHANNEL = (404, "Unknown Channel", 10003)
UNKNOWN_MESSAGE = (404, "Unknown Message", 10008)
THREAD_EXISTS = (400, "A thread has already been created for this message", 160004)


def full_guild(guild: fixtures.DiscordGuild) -> JsonDict:
    """The guild object of a bot-install token response."""
    owner = fixtures.DISCORD_USER_ID if guild.owner else "1180000000000000999"
    return {
        "id": guild.id,
        "name": guild.name,
        "icon": None,
        "owner_id": owner,
        "roles": [],
        "features": [],
        "system_channel_id": guild.system_channel_id,
        "preferred_locale": "en-US",
    }


def partial_guild(guild: fixtures.DiscordGuild) -> JsonDict:
    """An entry of `GET /users/@me/guilds`."""
    permissions = fixtures.OWNER_PERMISSIONS if guild.owner else fixtures.MEMBER_PERMISSIONS
    return {
        "id": guild.id,
        "name": guild.name,
        "icon": None,
        "banner": None,
        "owner": guild.owner,
        "permissions": permissions,
        "features": [],
    }


def channel_object(guild: fixtures.DiscordGuild, channel: fixtures.DiscordChannel) -> JsonDict:
    """An entry of `GET /guilds/{id}/channels`."""
    return {
        "id": channel.id,
        "type": channel.type,
        "guild_id": guild.id,
        "name": channel.name,
        "position": channel.position,
        "parent_id": channel.parent_id,
        "permission_overwrites": [],
        "nsfw": False,
        "topic": channel.topic,
        "flags": 0,
    }


class DiscordApi:
    """Bearer, Bot and webhook endpoints of the sandbox Discord API."""

    def __init__(self, app: SandboxApp, store: SandboxStore, canary: str) -> None:
        self.app = app
        self.store = store
        self.bot_token = sandbox_bot_token(canary)
        self.canary = canary
        self.inbox = Inbox(store)

    def add_routes(self, router: APIRouter) -> None:
        """Register the REST routes on the provider router."""
        my_guilds = faults.with_faults(self.store, "discord", "api", self.my_guilds)
        router.add_api_route("/api/v10/users/@me/guilds", my_guilds, methods=["GET"])
        router.add_api_route("/api/v10/users/@me", self.me, methods=["GET"])
        router.add_api_route("/apps/deauthorize", self.deauthorize, methods=["POST"])
        guild_path = "/api/v10/guilds/{guild_id}/channels"
        channels = faults.with_faults(self.store, "discord", "api", self.guild_channels)
        router.add_api_route(guild_path, channels, methods=["GET"])
        leave_path = "/api/v10/users/@me/guilds/{guild_id}"
        router.add_api_route(leave_path, self.leave_guild, methods=["DELETE"])
        threads = "/api/v10/channels/{channel_id}/messages/{message_id}/threads"
        router.add_api_route(threads, self.start_thread, methods=["POST"])
        execute = faults.with_message_faults(self.store, "discord", self.execute_webhook)
        get_webhook = faults.with_faults(self.store, "discord", "api", self.get_webhook)
        for api_base in ("/api", "/api/v10"):
            path = f"{api_base}/webhooks/{{webhook_id}}/{{webhook_token}}"
            router.add_api_route(path, execute, methods=["POST"])
            router.add_api_route(path, get_webhook, methods=["GET"])
            router.add_api_route(path, self.delete_webhook, methods=["DELETE"])

    async def create_webhook(self, request: Request, grant: JsonDict) -> JsonDict:
        """Create the webhook a `webhook.incoming` authorization returns (a new one every time)."""
        webhook_id = str(WEBHOOK_ID_BASE + await self.store.incr("webhook_serial"))
        token = f"{self.canary}-{secrets.token_urlsafe(48)}"
        meta = {"channel_id": grant["channel_id"], "guild_id": grant["guild_id"]}
        await self.store.put("webhook", webhook_id, meta | {"token": digest(token)})
        await self.store.add_flag("webhooks", webhook_id)
        return {
            "application_id": self.app.client_id,
            "name": self.app.name,
            "url": f"{base_url(request)}/sandbox/discord/api/webhooks/{webhook_id}/{token}",
            "channel_id": grant["channel_id"],
            "token": token,
            "type": 1,
            "avatar": None,
            "guild_id": grant["guild_id"],
            "id": webhook_id,
        }

    @guarded
    async def my_guilds(self, request: Request) -> Response:
        """GET /api/v10/users/@me/guilds with the user's Bearer token and the `guilds` scope."""
        token = auth_token(request, "Bearer")
        record = await self.store.get_secret("access", token) if token else None
        if record is None or "guilds" not in record["scopes"]:
            raise Rejected(discord_error(*UNAUTHORIZED))
        guilds = [fixtures.discord_guild(guild_id) for guild_id in record["guild_ids"]]
        return json_response([partial_guild(g) for g in guilds if g is not None])

    @guarded
    async def me(self, request: Request) -> Response:
        """GET /api/v10/users/@me with the user's Bearer token and the `identify` scope."""
        token = auth_token(request, "Bearer")
        record = await self.store.get_secret("access", token) if token else None
        if record is None or "identify" not in record["scopes"]:
            raise Rejected(discord_error(*UNAUTHORIZED))
        return json_response(USER)

    async def deauthorize(self) -> Response:
        """The user removes the app from Authorized Apps: its tokens and webhooks stop working, and the
        app's webhook events URL gets APPLICATION_DEAUTHORIZED."""
        for grant_id in await self.store.members("grants"):
            await self.store.revoke_grant(grant_id)
            await self.store.remove_flag("grants", grant_id)
        for webhook_id in await self.store.members("webhooks"):
            await self.store.delete("webhook", webhook_id)
            await self.store.remove_flag("webhooks", webhook_id)
        event = {
            "type": "APPLICATION_DEAUTHORIZED",
            "timestamp": datetime.now(UTC).isoformat(),
            "data": {"user": USER},
        }
        body = app_events.encode(
            {"version": 1, "application_id": self.app.client_id, "type": 1, "event": event}
        )
        url = app_events.events_url(self.app.redirect_uri, "discord")
        sent = await app_events.post(url, body, app_events.discord_headers(body, app_events.now()))
        return sent.html("Discord (sandbox): app deauthorized")

    @guarded
    async def guild_channels(self, request: Request, guild_id: str) -> Response:
        """GET /api/v10/guilds/{guild_id}/channels with `Authorization: Bot <token>`."""
        guild = await self._bot_guild(request, guild_id)
        return json_response([channel_object(guild, c) for c in guild.channels])

    @guarded
    async def leave_guild(self, request: Request, guild_id: str) -> Response:
        """DELETE /api/v10/users/@me/guilds/{guild_id} with the bot token: the bot leaves."""
        guild = await self._bot_guild(request, guild_id)
        await self.store.remove_flag("bot_guilds", guild.id)
        return Response(status_code=204)

    async def _bot_guild(self, request: Request, guild_id: str) -> fixtures.DiscordGuild:
        token = auth_token(request, "Bot")
        if token is None or not hmac.compare_digest(token.encode(), self.bot_token.encode()):
            raise Rejected(discord_error(*UNAUTHORIZED))
        guild = fixtures.discord_guild(guild_id)
        if guild is None:
            raise Rejected(discord_error(*UNKNOWN_GUILD))
        if not await self.store.has_flag("bot_guilds", guild.id):
            raise Rejected(discord_error(*MISSING_ACCESS))  # the bot was never added there
        return guild

    @guarded
    async def execute_webhook(self, request: Request, webhook_id: str, webhook_token: str) -> Response:
        """POST /api/webhooks/{id}/{token}: 204, or 200 + message with `?wait=true`."""
        meta = await self._webhook(webhook_id, webhook_token)
        payload = await read_json(request) if media_type(request) == JSON_TYPE else None
        payload = discord_messages.check_message(payload)
        thread_id = await self._thread(meta, request.query_params.get("thread_id"))
        await self.store.record_delivery(payload)
        message_id = str(MESSAGE_ID_BASE + await self.store.incr("message_serial"))
        await self.store.put("message", message_id, {"channel_id": thread_id or meta["channel_id"]})
        await self._receive(meta, message_id, thread_id, payload)
        if request.query_params.get("wait", "").lower() not in ("true", "1"):
            return Response(status_code=204)
        message = self._message(message_id, webhook_id, meta, payload)
        return json_response(message | {"channel_id": thread_id or meta["channel_id"]})

    async def _thread(self, meta: JsonDict, thread_id: str | None) -> str | None:
        """`?thread_id=`: a thread of the webhook's channel, else Discord's Unknown Channel."""
        if thread_id is None:
            return None
        thread = await self.store.get("thread", thread_id) if thread_id.isdigit() else None
        if thread is None or thread["parent_id"] != meta["channel_id"]:
            raise Rejected(discord_error(*UNKNOWN_CHANNEL))
        return thread_id

    async def _receive(
        self, meta: JsonDict, message_id: str, thread_id: str | None, payload: JsonDict
    ) -> None:
        guild = fixtures.discord_guild(meta["guild_id"])
        channel = guild.channel(meta["channel_id"]) if guild else None
        name = f"#{channel.name}" if channel else meta["channel_id"]
        cards = tuple(discord_messages.card(embed) for embed in payload.get("embeds") or [])
        author = str(payload.get("username") or self.app.name)
        mentions = discord_messages.mentions(payload)
        message = Message(
            message_id,
            str(payload.get("content") or ""),
            "discord",
            thread_id,
            author,
            "webhook",
            cards,
            mentions,
        )
        await self.inbox.receive(meta["channel_id"], name, message)

    @guarded
    async def start_thread(self, request: Request, channel_id: str, message_id: str) -> Response:
        """POST /channels/{id}/messages/{id}/threads (Bot): a public thread whose id is the message's."""
        token = auth_token(request, "Bot")
        if token is None or not hmac.compare_digest(token.encode(), self.bot_token.encode()):
            raise Rejected(discord_error(*UNAUTHORIZED))
        message = await self.store.get("message", message_id)
        if message is None or message["channel_id"] != channel_id:
            raise Rejected(discord_error(*UNKNOWN_MESSAGE))
        if await self.store.get("thread", message_id) is not None:
            raise Rejected(discord_error(*THREAD_EXISTS))
        body = await read_json(request)
        name = body.get("name") if isinstance(body, dict) else None
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise discord_messages.field_error(
                ["name"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
        await self.store.put("thread", message_id, {"parent_id": channel_id, "name": name})
        thread = {"id": message_id, "type": PUBLIC_THREAD, "parent_id": channel_id, "name": name}
        return json_response(thread | {"owner_id": self.app.client_id, "message_count": 0}, 201)

    @guarded
    async def get_webhook(self, request: Request, webhook_id: str, webhook_token: str) -> Response:
        """GET /api/webhooks/{id}/{token}: the webhook object (no `user`: the token is the auth), or
        404 Unknown Webhook / 401 Invalid Webhook Token once it was deleted or its token reset."""
        meta = await self._webhook(webhook_id, webhook_token)
        webhook = {"id": webhook_id, "type": 1, "name": self.app.name, "avatar": None}
        ids = {"channel_id": meta["channel_id"], "guild_id": meta["guild_id"]}
        return json_response(webhook | ids | {"application_id": self.app.client_id})

    @guarded
    async def delete_webhook(self, request: Request, webhook_id: str, webhook_token: str) -> Response:
        """DELETE /api/webhooks/{id}/{token}: 204 and the webhook is gone."""
        await self._webhook(webhook_id, webhook_token)
        await self.store.delete("webhook", webhook_id)
        return Response(status_code=204)

    async def _webhook(self, webhook_id: str, token: str) -> JsonDict:
        meta = await self.store.get("webhook", webhook_id)
        if meta is None:
            raise Rejected(discord_error(*UNKNOWN_WEBHOOK))
        if not hmac.compare_digest(meta["token"], digest(token)):
            raise Rejected(discord_error(*INVALID_WEBHOOK_TOKEN))
        return meta

    def _message(self, message_id: str, webhook_id: str, meta: JsonDict, payload: Any) -> JsonDict:
        author = {"bot": True, "id": webhook_id, "username": payload.get("username") or self.app.name}
        return {
            "id": message_id,
            "type": 0,
            "content": payload.get("content") or "",
            "channel_id": meta["channel_id"],
            "author": author | {"avatar": None, "discriminator": "0000"},
            "attachments": [],
            "embeds": payload.get("embeds") or [],
            "mentions": [],
            "mention_roles": [],
            "pinned": False,
            "mention_everyone": bool({"@everyone", "@here"} & set(discord_messages.mentions(payload))),
            "tts": False,
            "timestamp": datetime.now(UTC).isoformat(),
            "edited_timestamp": None,
            "flags": 0,
            "components": [],
            "webhook_id": webhook_id,
        }
