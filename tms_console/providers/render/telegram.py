"""Telegram: a `sendMessage` body in HTML parse mode; later events reply to the ticket's first message.

Telegram's HTML mode knows only a few tags and the entities `&lt;`, `&gt;`, `&amp;`, `&quot;`:
ticket text is escaped with them, so it can neither add tags nor break ours; the only `<a>` is the
ticket's own https link. Telegram also turns a typed `@username` into a mention that notifies that
member, so the at sign of anything shaped like a username becomes a fullwidth one (U+FF20), which
reads the same. Text is at most 4096 characters (UTF-16 units, after entity parsing):
the escaped markup is kept within that, which is stricter.
"""

from __future__ import annotations

import html
import re

from tms_console.domain.events import TicketEvent
from tms_console.domain.messages import RenderedMessage, Threading, ThreadMode
from tms_console.providers.render.summary import summarize
from tms_console.providers.render.text import clean, fit, utf16_length

TEXT_LIMIT, HEADING_LIMIT, FACT_LIMIT = 4096, 600, 200
_USERNAME = re.compile(r"(?<![\w@])@(?=[A-Za-z][A-Za-z0-9_]{4})")  # usernames: 5-32 of [A-Za-z0-9_]


def escape(text: str) -> str:
    """Telegram HTML entities, and no `@username` mention."""
    return html.escape(_USERNAME.sub("\uff20", text), quote=True)


def render(event: TicketEvent) -> RenderedMessage:
    """The event as a Telegram message."""
    summary = summarize(event)
    lines = [
        f"<b>{escape(summary.label)}</b>: "
        + fit(f"#{summary.number} {summary.subject}", HEADING_LIMIT, escape)
    ]
    lines += [f"{name}: " + fit(value, FACT_LIMIT, escape) for name, value in summary.facts]
    lines.append("By " + fit(summary.actor, FACT_LIMIT, escape))
    if summary.url:
        lines.append(f'<a href="{escape(summary.url)}">Open ticket</a>')
    if summary.detail:
        budget = TEXT_LIMIT - utf16_length("\n".join(lines)) - 1
        lines.insert(1, fit(summary.detail, budget, escape, utf16_length))
        lines = [line for line in lines if line]
    payload = {"text": "\n".join(lines), "parse_mode": "HTML", "link_preview_options": {"is_disabled": True}}
    threading = Threading(
        ThreadMode.REPLY_TO_FIRST,
        summary.thread_key,
        handle_field="reply_parameters.message_id",
        handle_from="result.message_id",
    )
    return RenderedMessage(payload, threading)


def notice(text: str) -> RenderedMessage:
    """A console notice (not a ticket event) as a plain Telegram message."""
    body = fit(clean(text), TEXT_LIMIT, escape, utf16_length)
    return RenderedMessage(
        {"text": body, "parse_mode": "HTML", "link_preview_options": {"is_disabled": True}}
    )
