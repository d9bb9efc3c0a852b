"""Ticket events: the types the TMS sends, the words the console uses for them, and the event itself.

An event is `{"id", "type", "occurred_at", "ticket", "actor", "changes"}` (issue 10 "Intake"). What
`changes` holds depends on the type, each entry `{"from": ..., "to": ...}`:

- `ticket.assigned`: `assignee` (people as `{"id", "name"}`, or null);
- `ticket.status_changed` and `ticket.resolved`: `status`; `ticket.priority_changed`: `priority`;
- `ticket.commented`: `comment` is the new comment itself, `{"id", "body", "public"}`.

Everything in an event is written by people outside the console (customers write subjects):
`TicketEvent` checks its shape, never trusts its text; the renderers neutralise it per platform.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

EventType = Literal[
    "ticket.created",
    "ticket.assigned",
    "ticket.status_changed",
    "ticket.priority_changed",
    "ticket.commented",
    "ticket.resolved",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
EVENT_LABELS: dict[str, str] = {
    "ticket.created": "New ticket",
    "ticket.assigned": "Ticket assigned",
    "ticket.status_changed": "Status changed",
    "ticket.priority_changed": "Priority changed",
    "ticket.commented": "New comment",
    "ticket.resolved": "Ticket resolved",
}
# Names integrations stored before issue 10, and what each means now. `ticket.updated` covered both
# field changes the TMS now reports separately.
LEGACY_EVENT_TYPES: dict[str, tuple[str, ...]] = {
    "ticket.updated": ("ticket.status_changed", "ticket.priority_changed"),
    "ticket.closed": ("ticket.resolved",),
    "comment.created": ("ticket.commented",),
}


def current_event_types(names: Iterable[object]) -> tuple[str, ...]:
    """Stored event choices in today's words: old names mapped, unknown ones dropped, in EVENT_TYPES order."""
    wanted: set[str] = set()
    for name in names:
        if isinstance(name, str):
            wanted.update(LEGACY_EVENT_TYPES.get(name, (name,)))
    return tuple(event_type for event_type in EVENT_TYPES if event_type in wanted)


def wants_event(meta: Mapping[str, Any], event_type: str) -> bool:
    """Whether an integration receives `event_type`: every type unless its `meta["events"]` picks some."""
    picked = meta.get("events")
    if not isinstance(picked, list) or not picked:
        return True
    return event_type in current_event_types(picked)


class EventError(ValueError):
    """A ticket event that does not have the documented shape; the message names the field path."""


@dataclass(frozen=True)
class Person:
    """Someone in an event: the requester, the assignee or the actor."""

    id: str
    name: str
    email: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name} | ({"email": self.email} if self.email else {})


@dataclass(frozen=True)
class Ticket:
    """The ticket an event is about, as the TMS describes it; `url` is the TMS's own link to it."""

    id: str
    number: int | str
    subject: str
    status: str
    priority: str
    requester: Person | None
    assignee: Person | None
    url: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "number": self.number,
            "subject": self.subject,
            "status": self.status,
            "priority": self.priority,
            "requester": self.requester.to_dict() if self.requester else None,
            "assignee": self.assignee.to_dict() if self.assignee else None,
            "url": self.url,
        }


@dataclass(frozen=True)
class TicketEvent:
    """One ticket event (see the module docstring), built from a plain dict with `from_dict`."""

    id: str
    type: str
    occurred_at: datetime
    ticket: Ticket
    actor: Person
    changes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return EVENT_LABELS[self.type]

    @property
    def comment_body(self) -> str:
        """The new comment's text (`ticket.commented`), else ""."""
        comment = self.changes.get("comment")
        body = comment.get("body") if isinstance(comment, Mapping) else None
        return body if isinstance(body, str) else ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TicketEvent:
        """The event in `data`.

        Raises:
            EventError: a missing or mistyped field (named by its path) or an unknown type.
        """
        event_type = _text(data, "type")
        if event_type not in EVENT_TYPES:
            raise EventError(f"type: must be one of {', '.join(EVENT_TYPES)}")
        changes = data.get("changes", {})
        if not isinstance(changes, Mapping):
            raise EventError("changes: must be an object")
        return cls(
            id=_text(data, "id"),
            type=event_type,
            occurred_at=_instant(data, "occurred_at"),
            ticket=_ticket(_object(data, "ticket")),
            actor=_person(_object(data, "actor"), "actor"),
            changes=dict(changes),
        )

    def to_dict(self) -> dict[str, Any]:
        """The event as JSON-ready data (what a plain webhook receives)."""
        return {
            "id": self.id,
            "type": self.type,
            "occurred_at": self.occurred_at.isoformat().replace("+00:00", "Z"),
            "ticket": self.ticket.to_dict(),
            "actor": self.actor.to_dict(),
            "changes": dict(self.changes),
        }


def _object(data: Mapping[str, Any], key: str, path: str = "") -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise EventError(f"{path}{key}: must be an object")
    return value


def _text(data: Mapping[str, Any], key: str, path: str = "", *, required: bool = True) -> str:
    value = data.get(key, None if required else "")
    if value is None and not required:
        value = ""  # the intake stores absent optional fields as JSON null
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # ids may be numbers in the TMS
    if not isinstance(value, str) or (required and not value):
        raise EventError(f"{path}{key}: must be {'non-empty ' if required else ''}text")
    return value


def _instant(data: Mapping[str, Any], key: str) -> datetime:
    try:
        moment = datetime.fromisoformat(_text(data, key))
    except ValueError:
        raise EventError(f"{key}: must be an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        raise EventError(f"{key}: must carry a time zone (e.g. Z)")
    return moment


def _person(data: Mapping[str, Any], path: str) -> Person:
    prefix = f"{path}."
    return Person(
        id=_text(data, "id", prefix),
        name=_text(data, "name", prefix),
        email=_text(data, "email", prefix, required=False),
    )


def _optional_person(data: Mapping[str, Any], key: str) -> Person | None:
    if data.get(key) is None:
        return None
    return _person(_object(data, key, "ticket."), f"ticket.{key}")


def _ticket(data: Mapping[str, Any]) -> Ticket:
    number = data.get("number")
    if isinstance(number, bool) or not isinstance(number, int | str) or number == "":
        raise EventError("ticket.number: must be a number or non-empty text")
    return Ticket(
        id=_text(data, "id", "ticket."),
        number=number,
        subject=_text(data, "subject", "ticket.", required=False),
        status=_text(data, "status", "ticket."),
        priority=_text(data, "priority", "ticket."),
        requester=_optional_person(data, "requester"),
        assignee=_optional_person(data, "assignee"),
        url=_text(data, "url", "ticket.", required=False),
    )
