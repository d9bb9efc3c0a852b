"""Discord: an execute-webhook body with one embed and `allowed_mentions: {"parse": []}`.

Mentions are off twice: `allowed_mentions` pings nobody, and the text itself has `@everyone`-style
words broken (`text.clean`) and markdown escaped with backslashes, so `<@&role>`, `[masked](links)`,
headings and spoilers show as typed. Limits: title 256, description 4096, field value 1024,
footer 2048, and 6000 characters over the whole embed.
"""

from __future__ import annotations

import re
from typing import Any

from tms_console.domain.events import TicketEvent
from tms_console.domain.messages import RenderedMessage, Threading, ThreadMode
from tms_console.providers.render.summary import summarize
from tms_console.providers.render.text import clean, fit

NOTICE_LIMIT = 2000  # a message's `content`
TITLE_LIMIT, DESCRIPTION_LIMIT, FIELD_LIMIT, FOOTER_LIMIT, EMBED_LIMIT = 256, 4096, 1024, 2048, 6000
_MARKDOWN = re.compile(r"([\\*_~`|<>\[\]()#@])")
_COLORS = {"urgent": 0xED4245, "high": 0xE67E22, "normal": 0x3498DB, "low": 0x95A5A6}


def escape(text: str) -> str:
    """Every character Discord markdown or mention syntax could use, backslash-escaped."""
    return _MARKDOWN.sub(r"\\\1", text)


def render(event: TicketEvent) -> RenderedMessage:
    """The event as a Discord webhook message."""
    summary = summarize(event)
    embed: dict[str, Any] = {
        "title": fit(f"#{summary.number} {summary.subject}", TITLE_LIMIT, escape),
        "color": _COLORS.get(event.ticket.priority.lower(), 0x5865F2),
        "fields": [
            {"name": name, "value": fit(value, 200, escape), "inline": True} for name, value in summary.facts
        ],
        "footer": {"text": fit(f"{summary.label} · by {summary.actor}", 300, escape)},
        "timestamp": summary.occurred_at,
    }
    if summary.url:
        embed["url"] = summary.url
    used = (
        len(embed["title"])
        + len(embed["footer"]["text"])
        + sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
    )
    if summary.detail:
        embed["description"] = fit(summary.detail, min(DESCRIPTION_LIMIT, EMBED_LIMIT - used), escape)
    payload = {"embeds": [embed], "allowed_mentions": {"parse": []}}
    # Later events go to a thread started on the first message (its id; delivery opens the thread).
    threading = Threading(
        ThreadMode.REPLY_TO_FIRST, summary.thread_key, handle_field="thread_id", handle_from="id"
    )
    return RenderedMessage(payload, threading)


def notice(text: str) -> RenderedMessage:
    """A console notice (not a ticket event) as a plain Discord message that mentions nobody."""
    return RenderedMessage(
        {"content": fit(clean(text), NOTICE_LIMIT, escape), "allowed_mentions": {"parse": []}}
    )
