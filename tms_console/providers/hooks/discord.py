"""Discord: find the guild the webhook was created in among the user's guilds."""

from __future__ import annotations

from typing import Any

from tms_console.domain.errors import ProviderError
from tms_console.domain.events import TicketEvent
from tms_console.domain.hooks import ProviderHooks, ProviderHttp
from tms_console.domain.messages import RenderedMessage
from tms_console.domain.reasons import Reason
from tms_console.domain.values import Meta
from tms_console.providers.render.discord import render as render_discord


class DiscordHooks(ProviderHooks):
    renders_events = True

    def render_event(self, event: TicketEvent, meta: Meta, *, template: str = "") -> RenderedMessage:
        return render_discord(event)

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
        meta["channel_name"] = await _channel_name(api, str(guild_id), str(meta.get("channel_id", "")))


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
