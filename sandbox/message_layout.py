"""Received messages as safe HTML, laid out the way each platform shows them.

Message text is hostile: every character that reaches the page goes through `html.escape`, links are
live only for http(s) (and show their real target), and what the platform would turn into a mention that
notifies people (`<!channel>`, `@everyone`, `<users/all>`) is highlighted so a developer sees it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape
from html.parser import HTMLParser

from sandbox import telegram_html
from sandbox.store import JsonDict

# Slack mrkdwn and Google Chat share the `<target|label>` control sequence.
CONTROL = re.compile(r"<([^<>]*)>")
# A backslash before punctuation shows it as typed (never syntax); then mentions and masked links.
DISCORD_TOKEN = re.compile(r"\\([^A-Za-z0-9\s])|@(?:everyone|here)|<@[!&]?\d+>|\[([^\[\]]+)\]\((\S+?)\)")
SAFE_LINK = re.compile(r"https?://", re.IGNORECASE)
LINK_TARGET = re.compile(r"[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # `<scheme:…|label>` is a link


def link(url: str, label: str) -> str:
    """An anchor that shows where it goes; anything but http(s) is shown as dead text."""
    if not SAFE_LINK.match(url):
        return f'<span class="dead" title="{escape(url)}">{escape(label)}</span>'
    target = escape(url)
    return f'<a href="{target}" title="{target}" rel="noopener noreferrer nofollow">{escape(label)}</a>'


def mention(label: str) -> str:
    """A mention the platform would notify, highlighted."""
    return f'<span class="mention">{escape(label)}</span>'


def slack(text: str) -> str:
    """Slack mrkdwn: `<!here>`, `<@U…>`, `<#C…>`, `<url|label>`; `&amp; &lt; &gt;` decoded."""
    return _controls(text, _slack_control, _slack_text)


def google(text: str) -> str:
    """Google Chat text: `<users/all>`, `<users/…>` mentions and `<url|label>` links."""
    return _controls(text, _google_control, escape)


def discord(text: str) -> str:
    """Discord markdown: `@everyone`/`@here`, user and role mentions, masked links `[label](url)`."""
    out, last = [], 0
    for match in DISCORD_TOKEN.finditer(text):
        out.append(escape(text[last : match.start()]))
        if match.group(1):
            out.append(escape(match.group(1)))
        elif match.group(2):
            out.append(link(match.group(3), match.group(2)))
        else:
            out.append(mention(match.group(0)))
        last = match.end()
    return "".join(out) + escape(text[last:])


def teams_html(text: str) -> str:
    """A Teams HTML body reduced to its text (paragraphs and line breaks kept)."""
    extractor = _TextOnly()
    extractor.feed(text)
    extractor.close()
    return escape("".join(extractor.parts)).replace("\n", "<br>")


def plain(text: str) -> str:
    """Text shown as is."""
    return escape(text)


FORMATS: dict[str, Callable[[str], str]] = {
    "slack": slack,
    "google": google,
    "discord": discord,
    "teams_html": teams_html,
    "telegram_html": telegram_html.page_html,
    "plain": plain,
}

# Teams' card text is a TextRun (plain) or our own TextBlock label, never the message body's HTML.
CARD_FORMATS: dict[str, Callable[[str], str]] = {"teams_html": plain}


def message_html(message: JsonDict) -> str:
    """One message: author, time, text, cards and the mentions it would notify."""
    render = FORMATS.get(message.get("format", "plain"), plain)
    head = f'<div class="meta"><b>{escape(message.get("author") or "")}</b> '
    head += f"<time>{escape(message.get('received_at', ''))}</time> "
    head += f'<span class="via">via {escape(message.get("via", ""))}</span></div>'
    notified = "".join(mention(name) for name in message.get("mentions", []))
    warning = f'<div class="notifies">Notifies: {notified}</div>' if notified else ""
    text = f'<div class="text">{render(message.get("text", ""))}</div>' if message.get("text") else ""
    card_render = CARD_FORMATS.get(message.get("format", "plain"), render)
    cards = "".join(card_html(card, card_render) for card in message.get("cards", []))
    return f'<article class="message" id="m-{escape(message["id"])}">{head}{warning}{text}{cards}</article>'


def card_html(card: JsonDict, render: Callable[[str], str]) -> str:
    """A card: title, subtitle, texts, `name: value` fields and links."""
    parts = [f"<h3>{escape(card['title'])}</h3>"] if card.get("title") else []
    if card.get("subtitle"):
        parts.append(f'<p class="subtitle">{escape(card["subtitle"])}</p>')
    parts += [f"<p>{render(text)}</p>" for text in card.get("texts", [])]
    rows = "".join(
        f"<dt>{escape(name)}</dt><dd>{render(value)}</dd>" for name, value in card.get("fields", [])
    )
    if rows:
        parts.append(f"<dl>{rows}</dl>")
    links = "".join(f"<li>{link(url, label)}</li>" for label, url in card.get("links", []))
    if links:
        parts.append(f'<ul class="links">{links}</ul>')
    return f'<section class="card">{"".join(parts)}</section>'


def _controls(text: str, control: Callable[[str], str], rest: Callable[[str], str]) -> str:
    out, last = [], 0
    for match in CONTROL.finditer(text):
        out.append(rest(text[last : match.start()]))
        out.append(control(match.group(1)))
        last = match.end()
    return "".join(out) + rest(text[last:])


def _slack_text(text: str) -> str:
    return escape(_slack_unescape(text))


def _slack_control(inner: str) -> str:
    target, _, label = inner.partition("|")
    if target.startswith("!"):
        return mention("@" + (label or target[1:].split("^")[0]))
    if target.startswith(("@", "#")):
        return mention(label or target)
    if not LINK_TARGET.match(target):
        return escape(f"<{inner}>")  # not a control sequence Slack knows: shown as typed
    return link(_slack_unescape(target), _slack_unescape(label or target))


def _slack_unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _google_control(inner: str) -> str:
    target, _, label = inner.partition("|")
    if target.startswith("users/"):
        return mention("@all" if target == "users/all" else "@" + target.removeprefix("users/"))
    if not LINK_TARGET.match(target):
        return escape(f"<{inner}>")
    return link(target, label or target)


class _TextOnly(HTMLParser):
    """Collects the text of an HTML fragment; block ends become line breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("p", "div", "li"):
            self.parts.append("\n")
