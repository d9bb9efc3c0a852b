"""Google Chat: `spaces.messages.create` with a cardsV2 card, threaded by a key we choose.

Card text widgets (`textParagraph`, `decoratedText.text`) read a small HTML subset (`<a href>`, `<b>`,
`<font>`), so ticket text is HTML-escaped there. Plain-text places (the card header, the message
`text`, where `<users/all>` would mention everyone) get `<` and `>` replaced by look-alike angle
quotes instead, so no Chat markup can form; the `text` then ends with the ticket's own link in Chat's
`<url|label>` syntax, since a post with a user's credentials shows the text alone (no card). The
thread key derives from the ticket id; with `messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD`
Chat starts the thread on the first event. Limits: a message is at most 32,000 bytes; the parts are
cut far below that.
"""

from __future__ import annotations

import html
from typing import Any

from tms_console.domain.events import TicketEvent
from tms_console.domain.messages import RenderedMessage, Threading, ThreadMode
from tms_console.providers.render.summary import summarize
from tms_console.providers.render.text import clean, cut, fit

TITLE_LIMIT, TEXT_LIMIT, DETAIL_LIMIT, FACT_LIMIT = 200, 500, 4000, 300
REPLY_OPTION = {"messageReplyOption": "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"}


def plain(text: str, limit: int) -> str:
    """Text for a place without markup: no angle brackets at all."""
    return cut(text.replace("<", "\u2039").replace(">", "\u203a"), limit)


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def render(event: TicketEvent) -> RenderedMessage:
    """The event as a Google Chat message with one card."""
    summary = summarize(event)
    widgets: list[dict[str, Any]] = []
    if summary.detail:
        widgets.append({"textParagraph": {"text": fit(summary.detail, DETAIL_LIMIT, escape)}})
    widgets += [
        {"decoratedText": {"topLabel": name, "text": fit(value, FACT_LIMIT, escape)}}
        for name, value in summary.facts
    ]
    if summary.url:
        button = {"text": "Open ticket", "onClick": {"openLink": {"url": summary.url}}}
        widgets.append({"buttonList": {"buttons": [button]}})
    header = {
        "title": plain(f"#{summary.number} {summary.subject}", TITLE_LIMIT),
        "subtitle": plain(f"{summary.label} · by {summary.actor}", TITLE_LIMIT),
    }
    text = plain(f"{summary.label}: #{summary.number} {summary.subject}", TEXT_LIMIT)
    if summary.url:  # `safe_link` admits no `<`, `>` or `|`: the control sequence stays ours
        text += f"\n<{summary.url}|Open ticket>"
    payload = {
        # Also what Chat shows where cards are not (notifications; user-authenticated posts).
        "text": text,
        "cardsV2": [{"cardId": "ticket", "card": {"header": header, "sections": [{"widgets": widgets}]}}],
        "thread": {"threadKey": summary.thread_key},
    }
    return RenderedMessage(payload, Threading(ThreadMode.KEYED, summary.thread_key), query=REPLY_OPTION)


def notice(text: str) -> RenderedMessage:
    """A console notice (not a ticket event) as a plain Google Chat message, outside any ticket's thread."""
    return RenderedMessage({"text": plain(clean(text), TEXT_LIMIT)})
