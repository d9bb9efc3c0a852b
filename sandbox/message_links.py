"""Which parts of a received message its platform turns into links people can click.

Every platform links more than its explicit syntax: Slack, Discord, Telegram, Google Chat, Teams and
WhatsApp all turn a bare `https://…` (and `www.…`) in message text into a link. On top of that, each has
its own markup: Slack and Google Chat text `<url|label>`, Discord `[label](url)` and `<url>` (a
backslash before the bracket makes it plain text), Telegram HTML and Google Chat card text `<a href>`.
Inbox.receive files the result as `Message.links`, so a test sees every link the channel shows, the
sender's own buttons included (those arrive as `Card.links`).

Who a message notifies depends on request options (Discord's `allowed_mentions`, Slack's `link_names`),
so each provider computes `Message.mentions` itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from sandbox import telegram_html

if TYPE_CHECKING:
    from sandbox.inbox import Card, Message

BARE_URL = re.compile(r"(?i)\b(?:(?:https?|ftp|tg)://|www\.)[^\s<>\"'`]+")
CONTROL = re.compile(r"<([^<>]*)>")  # Slack mrkdwn and Google Chat text
SCHEME = re.compile(r"[a-z][a-z0-9+.-]*:", re.IGNORECASE)
HTML_HREF = re.compile(r"""<a\s[^>]*?href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
MARKDOWN_LINK = re.compile(r"\[[^\[\]]*\]\(\s*([^()\s]+)[^()]*\)")
DISCORD_ANGLE = re.compile(r"<((?:https?|ftp)://[^\s<>]+)>", re.IGNORECASE)
DISCORD_ESCAPED = re.compile(r"\\[^A-Za-z0-9\s]")
TRAILING = ".,;:!?)]}'\""


def bare(text: str) -> list[str]:
    """URLs a client links by itself, without markup (trailing punctuation left out, as clients do)."""
    return [url.rstrip(TRAILING) for url in BARE_URL.findall(text)]


def angle_controls(text: str) -> list[str]:
    """Slack / Google Chat text: `<scheme:…|label>` links, then bare URLs in the rest."""
    found: list[str] = []
    for inner in CONTROL.findall(text):
        target = inner.partition("|")[0]
        if SCHEME.match(target):
            found.append(target.replace("&amp;", "&"))
    return found + bare(CONTROL.sub(" ", text))


def html(text: str) -> list[str]:
    """An HTML fragment: every `<a href>`, and bare URLs in its text."""
    hrefs = [
        next(group for group in match.groups() if group is not None) for match in HTML_HREF.finditer(text)
    ]
    return hrefs + bare(re.sub(r"<[^>]*>", " ", text))


def discord(text: str) -> list[str]:
    """Discord markdown: masked links and `<url>`, unless a backslash escapes their brackets; bare URLs."""
    unescaped = DISCORD_ESCAPED.sub("\ue000", text)  # an escaped character is plain text, never syntax
    found = MARKDOWN_LINK.findall(unescaped) + DISCORD_ANGLE.findall(unescaped)
    return found + bare(DISCORD_ANGLE.sub(" ", MARKDOWN_LINK.sub(" ", unescaped)))


def telegram(text: str) -> list[str]:
    """Telegram HTML: `text_link` targets, then URLs Telegram detects in the plain text."""
    try:
        pieces = telegram_html.parse(text)
    except telegram_html.HtmlParseError:
        return bare(text)
    hrefs = [piece.href for piece in pieces if piece.kind == "open" and piece.href]
    return hrefs + bare(telegram_html.plain_text(pieces))


def markdown(text: str) -> list[str]:
    """Markdown-capable card text (Teams' TextBlock): `[label](url)` and bare URLs."""
    return MARKDOWN_LINK.findall(text) + bare(MARKDOWN_LINK.sub(" ", text))


# Per message format: how its text is read, and how its cards' texts are.
READERS: dict[str, tuple[Callable[[str], list[str]], Callable[[str], list[str]]]] = {
    "slack": (angle_controls, angle_controls),
    "google": (angle_controls, html),  # card widgets take an HTML subset
    "discord": (discord, discord),
    "teams_html": (html, bare),  # Teams cards report their markdown links themselves (Card.links)
    "telegram_html": (telegram, bare),
    "plain": (bare, bare),
}


def links(message: Message) -> tuple[str, ...]:
    """Every link the platform shows for `message`, in reading order, each once."""
    text_reader, card_reader = READERS.get(message.format, (bare, bare))
    found = text_reader(message.text)
    for card in message.cards:
        found += [url for _, url in card.links]
        for text in _card_texts(card):
            found += card_reader(text)
    return tuple(dict.fromkeys(found))


def _card_texts(card: Card) -> Iterator[str]:
    yield card.title
    yield card.subtitle
    yield from card.texts
    for _, value in card.fields:
        yield value
