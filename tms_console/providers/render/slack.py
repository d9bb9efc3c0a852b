"""Slack: Block Kit with a `text` fallback (chat.postMessage and incoming webhooks take the same body).

Slack reads `<...>` as mentions (`<!channel>`, `<@U1>`) and links (`<url|text>`), so `&`, `<` and `>`
in ticket text are escaped everywhere; mrkdwn cannot form a link or a mention without them.
Limits: header 150 characters, section text 3000, a field 2000, `text` kept at 3000.
"""

from __future__ import annotations

from typing import Any

from tms_console.domain.events import TicketEvent
from tms_console.domain.messages import RenderedMessage, Threading, ThreadMode
from tms_console.providers.render.summary import summarize
from tms_console.providers.render.text import clean, fit

HEADER_LIMIT, SECTION_LIMIT, FIELD_LIMIT, TEXT_LIMIT = 150, 3000, 2000, 3000


def escape(text: str) -> str:
    """Slack's three control characters (docs: "Escaping text")."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render(event: TicketEvent) -> RenderedMessage:
    """The event as a Slack message; later events of the ticket reply in the first one's thread."""
    summary = summarize(event)
    heading = f"{summary.label}: #{summary.number} {summary.subject}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": fit(heading, HEADER_LIMIT, escape)}}
    ]
    if summary.detail:
        text = fit(summary.detail, SECTION_LIMIT, escape)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    fields = [
        {"type": "mrkdwn", "text": f"*{name}*\n" + fit(value, FIELD_LIMIT - len(name) - 3, escape)}
        for name, value in summary.facts
    ]
    blocks.append({"type": "section", "fields": fields})
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": fit(f"By {summary.actor}", 300, escape)}]}
    )
    if summary.url:
        button = {"type": "button", "text": {"type": "plain_text", "text": "Open ticket"}, "url": summary.url}
        blocks.append({"type": "actions", "elements": [button]})
    payload = {
        "text": fit(heading, TEXT_LIMIT, escape),
        "blocks": blocks,
        "unfurl_links": False,
        "unfurl_media": False,
    }
    threading = Threading(
        ThreadMode.REPLY_TO_FIRST, summary.thread_key, handle_field="thread_ts", handle_from="ts"
    )
    return RenderedMessage(payload, threading)


def notice(text: str) -> RenderedMessage:
    """A console notice (not a ticket event) as a plain Slack message."""
    return RenderedMessage(
        {"text": fit(clean(text), TEXT_LIMIT, escape), "unfurl_links": False, "unfurl_media": False}
    )
