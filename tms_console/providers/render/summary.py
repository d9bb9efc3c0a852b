"""The few lines every platform's message shows for a ticket event, already made harmless (`text.clean`)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tms_console.domain.events import TicketEvent
from tms_console.providers.render.text import clean, safe_link


@dataclass(frozen=True)
class Summary:
    """One event, as text. Everything but `label`, `url` and `thread_key` came from the TMS and is cleaned."""

    label: str  # ours: "New ticket", ...
    number: str
    subject: str  # single line
    detail: str  # the comment, or what changed; may be empty
    facts: tuple[tuple[str, str], ...]  # (our label, cleaned value)
    actor: str
    url: str | None  # the ticket's own https link, or None
    thread_key: str  # the same for every event of one ticket; safe characters only
    occurred_at: str


def summarize(event: TicketEvent) -> Summary:
    """The summary of `event` shared by every renderer."""
    ticket = event.ticket
    assignee = ticket.assignee.name if ticket.assignee else "Unassigned"
    facts = (("Status", ticket.status), ("Priority", ticket.priority), ("Assignee", assignee))
    return Summary(
        label=event.label,
        number=clean(str(ticket.number), single_line=True),
        subject=clean(ticket.subject, single_line=True) or "(no subject)",
        detail=clean(_detail(event)),
        facts=tuple((name, clean(value, single_line=True) or "-") for name, value in facts),
        actor=clean(event.actor.name, single_line=True) or "-",
        url=safe_link(ticket.url),
        thread_key="tms-ticket-" + hashlib.sha256(ticket.id.encode()).hexdigest()[:32],
        occurred_at=event.occurred_at.isoformat().replace("+00:00", "Z"),
    )


def _detail(event: TicketEvent) -> str:
    if event.type == "ticket.commented":
        return event.comment_body
    if event.type == "ticket.assigned":
        assignee = event.ticket.assignee
        return f"Assigned to {assignee.name}" if assignee else "Unassigned"
    lines = [
        f"{field.capitalize()}: {_value(change.get('from'))} → {_value(change.get('to'))}"
        for field in ("status", "priority")
        if isinstance(change := event.changes.get(field), Mapping)
    ]
    return "\n".join(lines)


def _value(value: Any) -> str:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    return "-"
