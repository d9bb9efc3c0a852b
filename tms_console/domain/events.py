"""Ticket events: the types the TMS sends and the words the console uses for them."""

from __future__ import annotations

EVENT_TYPES: tuple[str, ...] = (
    "ticket.created",
    "ticket.updated",
    "ticket.assigned",
    "ticket.closed",
    "comment.created",
)
EVENT_LABELS: dict[str, str] = {
    "ticket.created": "New ticket",
    "ticket.updated": "Ticket updated",
    "ticket.assigned": "Ticket assigned",
    "ticket.closed": "Ticket closed",
    "comment.created": "New comment",
}
