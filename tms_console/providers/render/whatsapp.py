"""WhatsApp Business: a template message (Cloud API `type: "template"`).

Outside the 24-hour customer-service window WhatsApp delivers only pre-approved templates, so the
console sends one template with positional body parameters. The template, created once in WhatsApp
Manager (category UTILITY, language en_US), has this body (name `tms_ticket_update`, or the
integration's `meta["template_name"]` / `meta["template_language"]`):

    {{1}} #{{2}}: {{3}}
    Status: {{4}} · Priority: {{5}}
    {{6}}

Parameter rules (Cloud API error 132018): no newlines or tabs, at most four spaces in a row, never
empty; each is cut at 200 characters here, keeping the body under the 1024-character limit.
WhatsApp has no mentions and no link markup; URL schemes in ticket text are defanged and the ticket's
own https link is parameter 6.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tms_console.domain.events import TicketEvent
from tms_console.domain.messages import RenderedMessage
from tms_console.providers.render.summary import summarize
from tms_console.providers.render.text import cut

TEMPLATE_NAME, TEMPLATE_LANGUAGE, PARAMETER_LIMIT = "tms_ticket_update", "en_US", 200
_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")


def parameter(text: str) -> dict[str, str]:
    """One body parameter within WhatsApp's template rules."""
    return {"type": "text", "text": cut(" ".join(text.split()), PARAMETER_LIMIT) or "-"}


def _setting(meta: Mapping[str, Any], key: str, pattern: re.Pattern[str], default: str) -> str:
    value = meta.get(key)
    return value if isinstance(value, str) and pattern.match(value) else default


def render(event: TicketEvent, meta: Mapping[str, Any]) -> RenderedMessage:
    """The event as a WhatsApp template message (the delivery step adds `to`)."""
    summary = summarize(event)
    facts = dict(summary.facts)
    values = (
        summary.label,
        summary.number,
        summary.subject,
        facts["Status"],
        facts["Priority"],
        summary.url or "-",
    )
    template = {
        "name": _setting(meta, "template_name", _NAME, TEMPLATE_NAME),
        "language": {"code": _setting(meta, "template_language", _LANGUAGE, TEMPLATE_LANGUAGE)},
        "components": [{"type": "body", "parameters": [parameter(value) for value in values]}],
    }
    payload = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "type": "template",
        "template": template,
    }
    return RenderedMessage(payload)
