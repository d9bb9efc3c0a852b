"""The intake's vocabulary: which integrations want an event, and the lock that orders a ticket's jobs."""

from __future__ import annotations

import uuid

import pytest

from tms_console.domain.events import EVENT_TYPES, wants_event
from tms_console.persistence.job_queue import DeliveryJob, include_name


@pytest.mark.parametrize(
    ("meta", "wanted"),
    [
        ({}, set(EVENT_TYPES)),  # no choice stored: every type
        ({"events": []}, set(EVENT_TYPES)),
        ({"events": None}, set(EVENT_TYPES)),
        ({"events": ["ticket.created", "ticket.resolved"]}, {"ticket.created", "ticket.resolved"}),
        ({"events": ["comment.created"]}, {"ticket.commented"}),  # a word stored before issue 10
    ],
)
def test_an_integration_receives_the_types_it_chose_or_all(meta: dict[str, object], wanted: set[str]) -> None:
    assert {kind for kind in EVENT_TYPES if wants_event(meta, kind)} == wanted


def test_one_lock_per_integration_and_ticket() -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    locks = {
        DeliveryJob(uuid.uuid4(), integration, ticket).lock
        for integration in (first, second)
        for ticket in "AB"
    }
    assert len(locks) == 4
    assert DeliveryJob(uuid.uuid4(), first, "A").lock == DeliveryJob(uuid.uuid4(), first, "A").lock


def test_migrations_compare_everything_but_the_job_queues_own_tables() -> None:
    assert not include_name("procrastinate_jobs", "table", {})
    assert include_name("ticket_events", "table", {})
