"""The sandbox's fake world: one Discord user with two guilds, one Slack workspace.

Everything here is constant so that demos, screenshots and tests see the same ids on every run and in
every worker process.
"""

from __future__ import annotations

from dataclasses import dataclass

# Discord channel types (PROVIDERS.md §1.7): 0 = GUILD_TEXT, 4 = GUILD_CATEGORY.
TEXT_CHANNEL = 0
CATEGORY_CHANNEL = 4

DISCORD_USER_ID = "1180000000000000001"
# Everything the "administrator" bit implies; returned as a string like Discord does.
OWNER_PERMISSIONS = "2251799813685247"
MEMBER_PERMISSIONS = "104324673"


@dataclass(frozen=True)
class DiscordChannel:
    """A guild channel of the fake Discord user."""

    id: str
    name: str
    type: int
    position: int
    parent_id: str | None = None
    topic: str | None = None


@dataclass(frozen=True)
class DiscordGuild:
    """A guild the fake Discord user belongs to."""

    id: str
    name: str
    owner: bool
    system_channel_id: str
    channels: tuple[DiscordChannel, ...]

    @property
    def text_channels(self) -> tuple[DiscordChannel, ...]:
        """Channels a webhook can be created in."""
        return tuple(c for c in self.channels if c.type == TEXT_CHANNEL)

    def channel(self, channel_id: str | None) -> DiscordChannel | None:
        """The text channel with this id in this guild, if any."""
        return next((c for c in self.text_channels if c.id == channel_id), None)


DISCORD_GUILDS: tuple[DiscordGuild, ...] = (
    DiscordGuild(
        id="1180000000000000101",
        name="Acme Support HQ",
        owner=True,
        system_channel_id="1180000000000000112",
        channels=(
            DiscordChannel("1180000000000000111", "Support", CATEGORY_CHANNEL, 0),
            DiscordChannel("1180000000000000112", "general", TEXT_CHANNEL, 0, "1180000000000000111"),
            DiscordChannel("1180000000000000113", "support-alerts", TEXT_CHANNEL, 1, "1180000000000000111"),
            DiscordChannel("1180000000000000114", "tickets", TEXT_CHANNEL, 2, "1180000000000000111"),
        ),
    ),
    DiscordGuild(
        id="1180000000000000201",
        name="Globex Ops Center",
        owner=False,
        system_channel_id="1180000000000000212",
        channels=(
            DiscordChannel("1180000000000000211", "Operations", CATEGORY_CHANNEL, 0),
            DiscordChannel("1180000000000000212", "ops-alerts", TEXT_CHANNEL, 0, "1180000000000000211"),
            DiscordChannel("1180000000000000213", "incidents", TEXT_CHANNEL, 1, "1180000000000000211"),
        ),
    ),
)


def discord_guild(guild_id: str | None) -> DiscordGuild | None:
    """The fake user's guild with this id, if any."""
    return next((g for g in DISCORD_GUILDS if g.id == guild_id), None)


@dataclass(frozen=True)
class SlackChannel:
    """A public channel of the sandbox workspace."""

    id: str
    name: str
    purpose: str
    num_members: int
    bot_is_member: bool = False
    is_general: bool = False


SLACK_TEAM_ID = "T0SANDBOX1"
SLACK_TEAM_NAME = "Acme Support (sandbox)"
SLACK_TEAM_URL = "https://sandbox-workspace.slack.com/"
SLACK_APP_ID = "A0SBXAPP01"
SLACK_BOT_USER_ID = "U0SBXBOT01"
SLACK_BOT_ID = "B0SBXBOT01"
SLACK_BOT_NAME = "tmsbot"
SLACK_USER_ID = "U0SBXUSR01"
SLACK_USER_NAME = "sandbox.admin"
# A fixed creation time keeps `created` fields stable across runs.
SLACK_CREATED = 1700000000


@dataclass(frozen=True)
class SlackTeam:
    """A workspace the sandbox user belongs to (both show the same channels)."""

    id: str
    name: str
    url: str


# The first is the default on the consent page; the second is another account for the wrong-account guard.
SLACK_TEAMS: tuple[SlackTeam, ...] = (
    SlackTeam(SLACK_TEAM_ID, SLACK_TEAM_NAME, SLACK_TEAM_URL),
    SlackTeam("T0SANDBOX2", "Globex Help (sandbox)", "https://globex-sandbox.slack.com/"),
)


def slack_team(team_id: str | None) -> SlackTeam | None:
    return next((t for t in SLACK_TEAMS if t.id == team_id), None)


SLACK_CHANNELS: tuple[SlackChannel, ...] = (
    SlackChannel("C0SBX0001", "support-alerts", "Alerts from the ticketing system", 8, True),
    SlackChannel("C0SBX0002", "tickets", "New and updated tickets", 12),
    SlackChannel("C0SBX0003", "general", "Company-wide announcements", 42, is_general=True),
)


def slack_channel(channel_id: str | None) -> SlackChannel | None:
    """The workspace channel with this id, if any."""
    return next((c for c in SLACK_CHANNELS if c.id == channel_id), None)
