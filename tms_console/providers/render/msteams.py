"""Microsoft Teams: a Graph channel message (`chatMessage`) carrying one Adaptive Card.

Ticket text goes only into `TextRun`s of `RichTextBlock`s, which Adaptive Cards show as plain text (no
markdown, so no `[links](...)` and no formatting); `TextBlock`s hold only our own labels. The message
body is our fixed `<attachment>` reference, so no ticket text reaches Graph's HTML. Card text is cut
well inside Graph's ~28 KB message limit.
"""

from __future__ import annotations

import json
from typing import Any

from tms_console.domain.events import TicketEvent
from tms_console.domain.messages import RenderedMessage, Threading, ThreadMode
from tms_console.providers.render.summary import Summary, summarize
from tms_console.providers.render.text import clean, cut

ATTACHMENT_ID = "tms-ticket-card"
SUBJECT_LIMIT, DETAIL_LIMIT, FACT_LIMIT = 500, 4000, 200


def _plain(text: str, *, bold: bool = False) -> dict[str, Any]:
    run: dict[str, Any] = {"type": "TextRun", "text": text} | ({"weight": "Bolder"} if bold else {})
    return {"type": "RichTextBlock", "inlines": [run]}


def card(summary: Summary) -> dict[str, Any]:
    """The Adaptive Card (version 1.4) for an event's summary."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": summary.label, "weight": "Bolder", "size": "Medium", "wrap": True},
        _plain(cut(f"#{summary.number} {summary.subject}", SUBJECT_LIMIT), bold=True),
    ]
    if summary.detail:
        body.append(_plain(cut(summary.detail, DETAIL_LIMIT)))
    body += [_plain(f"{name}: {cut(value, FACT_LIMIT)}") for name, value in summary.facts]
    body.append(_plain(f"By {cut(summary.actor, FACT_LIMIT)}"))
    content: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    if summary.url:
        content["actions"] = [{"type": "Action.OpenUrl", "title": "Open ticket", "url": summary.url}]
    return content


def render(event: TicketEvent) -> RenderedMessage:
    """The event as a Graph `POST .../channels/{id}/messages` body; later events reply to the first."""
    summary = summarize(event)
    attachment = {
        "id": ATTACHMENT_ID,
        "contentType": "application/vnd.microsoft.card.adaptive",
        "contentUrl": None,
        "content": json.dumps(card(summary), ensure_ascii=False),  # Graph takes the card as a JSON string
    }
    payload = {
        "body": {"contentType": "html", "content": f'<attachment id="{ATTACHMENT_ID}"></attachment>'},
        "attachments": [attachment],
    }
    threading = Threading(
        ThreadMode.REPLY_TO_FIRST, summary.thread_key, handle_field="replies_of", handle_from="id"
    )
    return RenderedMessage(payload, threading)


def notice(text: str) -> RenderedMessage:
    """A console notice (not a ticket event) as a plain-text Graph channel message (no HTML is read)."""
    return RenderedMessage({"body": {"contentType": "text", "content": cut(clean(text), DETAIL_LIMIT)}})
