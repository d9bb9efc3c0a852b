"""Discord: find the guild the webhook was created in among the user's guilds; learn from the app's
webhook events (Ed25519-signed) when the installing user deauthorizes the app."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any

from tms_console.domain.errors import ProviderError
from tms_console.domain.events import TicketEvent
from tms_console.domain.hooks import ProviderHooks, ProviderHttp
from tms_console.domain.inbound import InboundRefused, Reply, StatusEvent, Verified
from tms_console.domain.messages import Outcome, RenderedMessage, SendResult, ThreadMode
from tms_console.domain.reasons import Reason
from tms_console.domain.status import IntegrationStatus
from tms_console.domain.values import Meta, Secrets
from tms_console.providers.hooks._inbound import json_object, obj, require_fresh, text
from tms_console.providers.hooks._send import (
    Answer,
    attempt,
    by_status,
    delivered,
    missing_target,
    probed,
    result,
)
from tms_console.providers.render.discord import notice as render_discord_notice
from tms_console.providers.render.discord import render as render_discord
from tms_console.security.provider_signatures import body_id, matches_ed25519

SNOWFLAKE = re.compile(r"^[0-9]{1,25}$")
UNKNOWN_CHANNEL = 10003  # `?thread_id=` names a thread that no longer exists
_ESCAPED = re.compile(r"\\(.)")
PING, EVENT = 0, 1  # webhook event payload types (PROVIDERS.md §1.6)
# A webhook that was deleted (404 Unknown Webhook) or whose token was reset (401 Invalid Webhook Token).
_WEBHOOK_GONE = {401: "webhook_deleted", 404: "webhook_deleted"}


class DiscordHooks(ProviderHooks):
    renders_events = True
    sends_notices = True
    receives_events = True
    refusal = Reply(401, "invalid request signature", "text/plain")
    probes = True
    fetches_details_later = True

    def render_event(self, event: TicketEvent, meta: Meta, *, template: str = "") -> RenderedMessage:
        return render_discord(event)

    def render_notice(self, text: str) -> RenderedMessage:
        return render_discord_notice(text)

    async def send_message(
        self,
        api: ProviderHttp,
        bundle: Secrets,
        meta: Meta,
        message: RenderedMessage,
        *,
        thread_handle: str = "",
    ) -> SendResult:
        """Execute the install's webhook (`?wait=true`, `thread_id` for later events of a ticket).

        A webhook cannot start a thread: with the app's bot token, the first message of a ticket gets a
        thread started on it, whose id is the handle; without one, every message stands alone (as do
        console notices).
        """
        webhook_id, token = str(meta.get("webhook_id") or ""), str(bundle.get("webhook_token") or "")
        if not SNOWFLAKE.match(webhook_id) or not token:
            return missing_target("webhook")
        params = {"wait": "true"} | ({"thread_id": thread_handle} if thread_handle else {})
        path = f"/v10/webhooks/{webhook_id}/{token}"
        answer = await attempt(api, "POST", path, json=message.payload, params=params, secrets=(token,))
        if isinstance(answer, SendResult):
            return answer
        if answer.status >= 300:
            return _judge_failure(answer, replying=bool(thread_handle), token=token)
        if thread_handle or not api.has_bot or message.threading.mode is ThreadMode.NONE:
            return delivered(answer)  # a reply, no bot to start a thread, or a notice (no ticket)
        return delivered(answer, await _start_thread(api, answer.body, message.payload))

    async def probe(self, api: ProviderHttp, bundle: Secrets, meta: Meta) -> SendResult | None:
        """`GET /webhooks/{id}/{token}` (no auth beyond the token in the path): the webhook object while it
        exists."""
        webhook_id, token = str(meta.get("webhook_id") or ""), str(bundle.get("webhook_token") or "")
        if not SNOWFLAKE.match(webhook_id) or not token:
            return missing_target("webhook")
        answer = await attempt(api, "GET", f"/v10/webhooks/{webhook_id}/{token}", secrets=(token,))
        return answer if isinstance(answer, SendResult) else probed(answer, _WEBHOOK_GONE, secrets=(token,))

    async def after_install(self, api: ProviderHttp, token: dict[str, Any], meta: Meta) -> None:
        """Store the guild's id, name and icon (`GET users/@me/guilds`, the seed's fetchDiscordGuilds).

        The token response's `guild` (bot scope) is authoritative when present; the user's guild list
        gives the name when only the webhook's `guild_id` is known.
        """
        guild = token.get("guild") if isinstance(token.get("guild"), dict) else None
        guild_id = meta.get("guild_id") or (guild or {}).get("id")
        if not guild_id:
            raise ProviderError(Reason.MISSING_GUILD, "no guild in token response")
        if guild is None or guild.get("id") != guild_id:
            guilds = await api.call("GET", "/v10/users/@me/guilds", bearer=token["access_token"])
            matches = [g for g in guilds if isinstance(g, dict) and g.get("id") == guild_id]
            if not matches:
                raise ProviderError(Reason.MISSING_GUILD, "webhook guild not among the user's guilds")
            guild = matches[0]
        meta["guild_id"] = str(guild_id)
        meta["guild_name"] = str(guild.get("name") or "")
        meta["guild_icon"] = guild.get("icon") if isinstance(guild.get("icon"), str) else None

    async def details_later(self, api: ProviderHttp, token: dict[str, Any], meta: Meta) -> Meta:
        """The webhook channel's name (with the bot token) and the installing user's id."""
        guild_id, channel_id = str(meta.get("guild_id") or ""), str(meta.get("channel_id") or "")
        channel_name, user_id = await asyncio.gather(
            _channel_name(api, guild_id, channel_id), _user_id(api, str(token.get("access_token") or ""))
        )
        return {"channel_name": channel_name, "user_id": user_id}

    def read_event(self, headers: Mapping[str, str], body: bytes, keys: Secrets, now: float) -> Verified:
        """Ed25519 over `X-Signature-Timestamp + body` with the app's public key, at most 5 minutes old;
        PING and events are acknowledged with 204."""
        signature, timestamp = (
            headers.get("x-signature-ed25519", ""),
            headers.get("x-signature-timestamp", ""),
        )
        if not signature or not timestamp:
            raise InboundRefused("missing_signature")
        public_key = str(keys.get("public_key") or "")
        if not matches_ed25519(signature, public_key_hex=public_key, message=timestamp.encode() + body):
            raise InboundRefused("bad_signature")
        require_fresh(timestamp, now)
        payload = json_object(body)
        if payload.get("type") not in (PING, EVENT):
            raise InboundRefused("malformed")
        return Verified(body_id(timestamp.encode(), body), Reply(204), _deauthorized(payload))


async def _user_id(api: ProviderHttp, access_token: str) -> str:
    """The installing user's id (`identify` scope): APPLICATION_DEAUTHORIZED names only the user."""
    try:
        me = await api.call("GET", "/v10/users/@me", bearer=access_token, allow_errors=True)
    except ProviderError:
        return ""
    user_id = str(me.get("id") or "") if isinstance(me, dict) else ""
    return user_id if SNOWFLAKE.match(user_id) else ""


async def _channel_name(api: ProviderHttp, guild_id: str, channel_id: str) -> str | None:
    """The webhook's channel name, when the app's bot token (DISCORD_BOT_TOKEN) can list channels.

    Display only: without a bot token, or if Discord refuses, the card shows the channel id.
    """
    if not api.has_bot or not channel_id:
        return None
    try:
        channels = await api.call("GET", f"/v10/guilds/{guild_id}/channels", as_bot=True)
    except ProviderError:
        return None
    names = [c.get("name") for c in channels if isinstance(c, dict) and c.get("id") == channel_id]
    return str(names[0]) if names and names[0] else None


def _judge_failure(answer: Answer, *, replying: bool, token: str) -> SendResult:
    """401/404 on the webhook: it was deleted or its token reset. A vanished thread is only this message's."""
    code = answer.body.get("code") if isinstance(answer.body, dict) else None
    if replying and code == UNKNOWN_CHANNEL:
        return result(Outcome.REJECTED, answer, "unknown_thread", secrets=(token,))
    return by_status(answer, frozenset({401, 404}), secrets=(token,))


async def _start_thread(api: ProviderHttp, posted: Any, payload: Any) -> str:
    """Start a thread on the message just posted (bot token); its id, or "" if Discord refused."""
    message_id = str(posted.get("id") or "") if isinstance(posted, dict) else ""
    channel_id = str(posted.get("channel_id") or "") if isinstance(posted, dict) else ""
    if not SNOWFLAKE.match(message_id) or not SNOWFLAKE.match(channel_id):
        return ""
    path = f"/v10/channels/{channel_id}/messages/{message_id}/threads"
    body = {"name": _thread_name(payload), "auto_archive_duration": 10080}
    answer = await attempt(api, "POST", path, json=body, as_bot=True)
    if isinstance(answer, SendResult) or answer.status >= 300 or not isinstance(answer.body, dict):
        return ""
    return str(answer.body.get("id") or "")


def _thread_name(payload: Any) -> str:
    """The embed's title without the renderer's markdown escapes (thread names show plain text)."""
    embeds = payload.get("embeds") if isinstance(payload, dict) else None
    title = str(embeds[0].get("title") or "") if embeds and isinstance(embeds[0], dict) else ""
    return (_ESCAPED.sub(r"\1", title).strip() or "Ticket")[:100]


def _deauthorized(payload: dict[str, Any]) -> tuple[StatusEvent, ...]:
    """APPLICATION_DEAUTHORIZED: the user's installs of this app need reconnecting."""
    event = obj(payload.get("event"))
    data = obj(event.get("data"))
    user = obj(data.get("user"))
    app_id, user_id = text(payload.get("application_id")), text(user.get("id"))
    if payload.get("type") != EVENT or event.get("type") != "APPLICATION_DEAUTHORIZED":
        return ()
    if not app_id or not user_id:
        return ()
    match = {"application_id": app_id, "user_id": user_id}
    return (StatusEvent(IntegrationStatus.NEEDS_RECONNECT, "deauthorized", match),)
