"""The ticket event vocabulary: the six types, the typed event built from a plain dict, old names mapped."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tms_console.domain.events import (
    EVENT_LABELS,
    EVENT_TYPES,
    EventError,
    TicketEvent,
    current_event_types,
    wants_event,
)
from tms_console.domain.sample_events import SAMPLE_EVENTS


def test_every_type_has_a_label_and_a_sample() -> None:
    assert set(EVENT_LABELS) == set(EVENT_TYPES) == set(SAMPLE_EVENTS)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_sample_builds_a_typed_event_and_round_trips(event_type: str) -> None:
    event = TicketEvent.from_dict(SAMPLE_EVENTS[event_type])
    assert event.type == event_type and event.label == EVENT_LABELS[event_type]
    assert event.occurred_at.tzinfo is not None
    assert event.to_dict() == SAMPLE_EVENTS[event_type]


def test_the_typed_event_exposes_the_ticket_people_and_comment() -> None:
    event = TicketEvent.from_dict(SAMPLE_EVENTS["ticket.commented"])
    assert event.ticket.number == 1042 and event.ticket.subject.startswith("Invoice PDF")
    assert event.ticket.requester is not None and event.ticket.requester.name == "Dana Whitfield"
    assert event.ticket.assignee is not None and event.actor.name == "Priya Raman"
    assert event.occurred_at == datetime(2025, 3, 14, 10, 5, 51, tzinfo=UTC)
    assert event.comment_body.startswith("Thanks Dana")
    assert TicketEvent.from_dict(SAMPLE_EVENTS["ticket.created"]).comment_body == ""


def broken(path: str, value: Any) -> dict[str, Any]:
    event = json.loads(json.dumps(SAMPLE_EVENTS["ticket.created"]))  # no shared people
    *parents, last = path.split(".")
    target = event
    for key in parents:
        target = target[key]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return event


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("type", "ticket.closed", "type: must be one of ticket.created, ticket.assigned"),
        ("type", KeyError, "type: must be non-empty text"),
        ("id", "", "id: must be non-empty text"),
        ("occurred_at", "yesterday", "occurred_at: must be an ISO 8601"),
        ("occurred_at", "2025-03-14T09:12:44", "occurred_at: must carry a time zone"),
        ("ticket", "x", "ticket: must be an object"),
        ("ticket.number", True, "ticket.number: must be a number or non-empty text"),
        ("ticket.status", KeyError, "ticket.status: must be non-empty text"),
        ("ticket.subject", ["x"], "ticket.subject: must be text"),
        ("ticket.requester", "dana", "ticket.requester: must be an object"),
        ("ticket.requester.name", None, "ticket.requester.name: must be non-empty text"),
        ("actor", KeyError, "actor: must be an object"),
        ("actor.id", {}, "actor.id: must be non-empty text"),
        ("changes", [], "changes: must be an object"),
    ],
)
def test_a_malformed_event_is_refused_naming_the_field(path: str, value: Any, message: str) -> None:
    with pytest.raises(EventError, match=message.replace(".", r"\.")):
        TicketEvent.from_dict(broken(path, value))


def test_optional_fields_may_be_absent_or_null() -> None:
    event = copy.deepcopy(SAMPLE_EVENTS["ticket.created"])
    del event["changes"], event["ticket"]["url"]
    event["ticket"]["requester"] = None
    typed = TicketEvent.from_dict(event)
    assert typed.changes == {} and typed.ticket.url == "" and typed.ticket.requester is None


def test_an_optional_text_stored_as_null_reads_as_empty() -> None:
    # The intake stores the validated body with every optional field present, absent ones as null.
    event = copy.deepcopy(SAMPLE_EVENTS["ticket.created"])
    event["ticket"]["requester"]["email"] = None
    event["ticket"]["url"] = None
    typed = TicketEvent.from_dict(event)
    assert typed.ticket.requester is not None and typed.ticket.requester.email == ""
    assert typed.ticket.url == ""


def test_old_event_names_stored_by_webhooks_map_to_the_new_ones() -> None:
    assert current_event_types(["ticket.closed"]) == ("ticket.resolved",)
    assert current_event_types(["comment.created", "ticket.created"]) == (
        "ticket.created",
        "ticket.commented",
    )
    assert current_event_types(["ticket.updated"]) == ("ticket.status_changed", "ticket.priority_changed")
    assert current_event_types(["ticket.assigned", "nonsense", 7]) == ("ticket.assigned",)


@pytest.mark.parametrize(
    ("meta", "event_type", "expected"),
    [
        ({}, "ticket.commented", True),  # no choice stored: every type
        ({"events": []}, "ticket.resolved", True),
        ({"events": ["ticket.created"]}, "ticket.created", True),
        ({"events": ["ticket.created"]}, "ticket.resolved", False),
        ({"events": ["ticket.closed"]}, "ticket.resolved", True),  # stored before issue 10
        ({"events": ["ticket.updated"]}, "ticket.priority_changed", True),
        ({"events": ["comment.created"]}, "ticket.assigned", False),
    ],
)
def test_an_integration_receives_what_it_picked(
    meta: dict[str, Any], event_type: str, expected: bool
) -> None:
    assert wants_event(meta, event_type) is expected
