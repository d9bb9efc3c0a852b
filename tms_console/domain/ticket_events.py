"""Ticket events the TMS posts to the intake, and the lifecycle words of their deliveries.

`INTAKE_EVENT_TYPES` is the one list the intake accepts (issue 10). It is kept here, apart from
`events.py` (the console's labels), until the two are reconciled into one vocabulary.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal, get_args

IntakeEventType = Literal[
    "ticket.created",
    "ticket.assigned",
    "ticket.status_changed",
    "ticket.priority_changed",
    "ticket.commented",
    "ticket.resolved",
]
INTAKE_EVENT_TYPES: tuple[str, ...] = get_args(IntakeEventType)
MAX_EVENT_BYTES = 64 * 1024


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # stored, its job is queued or running
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up: retries exhausted or the provider refused for good
    PAUSED = "paused"  # the integration needs a reconnect; resumes afterwards


def wants_event(meta: Mapping[str, Any], event_type: str) -> bool:
    """Whether an integration asked for this event type: its meta's `events` list, or every type when the
    list is absent or empty (the default)."""
    chosen = meta.get("events")
    if not isinstance(chosen, list) or not chosen:
        return True
    return event_type in chosen
