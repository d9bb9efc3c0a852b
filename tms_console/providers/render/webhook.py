"""Plain webhooks: the event as JSON, or the integration's own payload template rendered from it.

Templates written before issue 10 named `ticket.title` and a top-level `comment`; the template sees
those too (`ticket.title` is the subject, `comment` the new comment), so they keep rendering.
"""

from __future__ import annotations

import json
from typing import Any

from tms_console.domain.events import TicketEvent
from tms_console.domain.messages import RenderedMessage
from tms_console.providers import templating

NOTICE_TYPE = "console.notice"


def template_view(event: TicketEvent) -> dict[str, Any]:
    """What a payload template sees: the event, plus the names older templates use."""
    data = event.to_dict()
    data["ticket"]["title"] = data["ticket"]["subject"]
    if isinstance(comment := data["changes"].get("comment"), dict):
        data["comment"] = comment
    return data


def render(event: TicketEvent, template: str = "") -> RenderedMessage:
    """The webhook body for `event`.

    Raises:
        templating.TemplateError: the integration's template cannot render this event.
    """
    if not template.strip():
        return RenderedMessage(event.to_dict())
    return RenderedMessage(json.loads(templating.render(template, template_view(event))))


def notice(text: str) -> RenderedMessage:
    """A console notice (not a ticket event) as JSON; `text` also makes it a valid Slack or Google Chat
    incoming-webhook body. The integration's payload template is for ticket events and is not used."""
    return RenderedMessage({"type": NOTICE_TYPE, "text": text})
