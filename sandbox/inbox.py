"""What each sandbox channel received, as the platform would show it: text, thread, card fields.

Every message endpoint keeps its raw body in the provider's `deliveries` (as before) and also files a
`Message` here, under the channel it landed in. The channel pages (`channel_pages`) and `_inspect` read it
back. A message is stored as plain JSON in Redis (`sandbox:<provider>:list:inbox:<channel>`), so every
sandbox worker sees the same channels.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal

from sandbox import message_links
from sandbox.store import JsonDict, SandboxStore

# How a message's text is marked up on its platform; `message_layout` renders each one safely.
TextFormat = Literal["slack", "discord", "teams_html", "telegram_html", "google", "plain"]
MAX_MESSAGES = 200  # per channel: enough to watch a demo, bounded in a long-running dev Redis


@dataclass(frozen=True)
class Card:
    """A card, embed, Adaptive Card or template, reduced to what the platform lays out."""

    title: str = ""
    subtitle: str = ""
    texts: tuple[str, ...] = ()
    fields: tuple[tuple[str, str], ...] = ()
    links: tuple[tuple[str, str], ...] = ()  # (label, url)


@dataclass(frozen=True)
class Message:
    """One message as it arrived in a channel."""

    id: str
    text: str
    format: TextFormat
    thread: str | None = None  # the thread it belongs to (its root's id or the platform's thread name)
    author: str = ""
    via: str = "api"  # "api", "webhook", ...
    cards: tuple[Card, ...] = ()
    mentions: tuple[str, ...] = ()  # who the platform would notify beyond the channel (@channel, ...)
    links: tuple[str, ...] = ()  # every link the platform shows (filled in by `Inbox.receive`)
    received_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))


class Inbox:
    """The channels of one sandbox provider and the messages each received."""

    def __init__(self, store: SandboxStore) -> None:
        self.store = store

    async def receive(self, channel: str, channel_name: str, message: Message) -> None:
        """File a message under its channel.

        Args:
            channel: the channel's id on the platform (Slack channel id, Telegram chat id, ...).
            channel_name: how the platform names the channel (`#support-alerts`).
            message: the message as received.
        """
        message = replace(message, links=message_links.links(message))
        await self.store.append(f"inbox:{channel}", asdict(message), MAX_MESSAGES)
        await self.store.put_field("inbox_channels", channel, {"name": channel_name})

    async def channels(self) -> dict[str, str]:
        """Channel id -> name, for every channel that received a message."""
        return {
            ident: record["name"] for ident, record in (await self.store.fields("inbox_channels")).items()
        }

    async def messages(self, channel: str) -> list[JsonDict]:
        """The messages of a channel, oldest first (JSON records of `Message`)."""
        return await self.store.items(f"inbox:{channel}")

    async def snapshot(self) -> list[JsonDict]:
        """What `_inspect` shows: each channel with its messages."""
        channels = await self.channels()
        return [
            {"id": ident, "name": name, "messages": await self.messages(ident)}
            for ident, name in sorted(channels.items())
        ]


def threads(messages: list[JsonDict]) -> list[list[JsonDict]]:
    """Messages grouped by thread, each group in arrival order, groups in order of their first message."""
    groups: dict[str, list[JsonDict]] = {}
    for message in messages:
        groups.setdefault(message.get("thread") or message["id"], []).append(message)
    return list(groups.values())
