"""The status machine: every change of status is stored once (row and audit trail) and shown in words.

Over real Postgres and HTTP: `lifecycle.transition` itself, the transitions deliveries cause (failed for
good -> degraded, delivered again -> active), a reconnect (-> active), and the card and the admin
overview showing the reason with the action that fixes it.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.integration.test_delivery_health import api, card, run
from tests.integration.test_delivery_outcomes import receiver, reconnect
from tests.utils.deliveries import add_delivery, add_webhook, run_deliver, seal_webhook
from tests.utils.events import Place, add_integration, new_place, ticket_event
from tms_console.domain.messages import Outcome
from tms_console.domain.status import IntegrationStatus
from tms_console.services import lifecycle
from tms_console.services.lifecycle import StatusChange


@pytest.fixture
def place(db: psycopg.Connection) -> Place:
    return new_place(db)


def row_status(db: psycopg.Connection, integration: uuid.UUID) -> tuple[Any, ...]:
    row = db.execute(
        "SELECT status, status_reason, status_changed_at IS NOT NULL FROM project_integrations WHERE id = %s",
        (integration,),
    ).fetchone()
    assert row is not None
    return tuple(row)


def changes(db: psycopg.Connection, integration: uuid.UUID) -> list[tuple[Any, ...]]:
    rows = db.execute(
        "SELECT from_status, to_status, reason, actor_id FROM integration_events "
        "WHERE integration_id = %s AND action = 'status_changed' ORDER BY created_at",
        (integration,),
    ).fetchall()
    return [tuple(row) for row in rows]


def move(integration: uuid.UUID, to: IntegrationStatus, reason: str) -> bool:
    return run(lambda: lifecycle.transition_now(integration, to, reason, actor=lifecycle.SYSTEM_HEALTH))


def test_a_transition_is_stored_once_and_a_repeated_finding_changes_nothing(
    db: psycopg.Connection, place: Place
) -> None:
    integration = add_integration(db, place, "slack")
    seen: list[StatusChange] = []

    async def hook(session: AsyncSession, change: StatusChange) -> None:
        seen.append(change)

    lifecycle.on_transition(hook)
    try:
        assert move(integration, IntegrationStatus.NEEDS_RECONNECT, "invalid_auth") is True
        assert move(integration, IntegrationStatus.NEEDS_RECONNECT, "invalid_auth") is False
        assert move(integration, IntegrationStatus.NEEDS_RECONNECT, "token_revoked") is False
    finally:
        lifecycle._hooks.remove(hook)

    assert row_status(db, integration) == ("needs_reconnect", "token_revoked", True)  # the newest reason
    assert changes(db, integration) == [("active", "needs_reconnect", "invalid_auth", "health-check")]
    assert [(c.from_status, c.to_status, c.reason, c.integration_type) for c in seen] == [
        ("active", "needs_reconnect", "invalid_auth", "slack")
    ]

    assert move(integration, IntegrationStatus.ACTIVE, "recovered") is True
    assert row_status(db, integration) == ("active", None, True)  # a working row keeps no reason
    assert changes(db, integration)[-1] == ("needs_reconnect", "active", "recovered", "health-check")


def test_a_transition_of_a_row_that_is_gone_changes_nothing(db: psycopg.Connection) -> None:
    assert move(uuid.uuid4(), IntegrationStatus.DISABLED, "gone") is False


def test_a_delivery_failed_for_good_degrades_the_integration_and_the_next_delivered_one_recovers_it(
    live_url: str, sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    integration, secret = add_webhook(db, place, receiver(sandbox_url, status=400))
    assert run_deliver(add_delivery(db, place, integration, ticket_event())) is Outcome.REJECTED
    assert row_status(db, integration) == ("degraded", "rejected", True)
    shown = card(live_url, place)
    assert shown["status"] == "degraded" and shown["status_since"].endswith(" UTC")
    assert shown["status_note"] == (
        "The receiver refused the message as sent (4xx). Retrying would not help. "
        "Open Activity to see the failing deliveries."
    )
    cell = api(live_url, place, "/integrations/overview")["projects"][0]["integrations"]["webhook"]
    assert (cell["status"], cell["state"], cell["detail"]) == (
        "needs_attention", "degraded", shown["status_note"],
    )  # fmt: skip

    seal_webhook(db, place, integration, receiver(sandbox_url), secret)  # the receiver is fixed
    assert run_deliver(add_delivery(db, place, integration, ticket_event())) is Outcome.DELIVERED
    assert row_status(db, integration) == ("active", None, True)
    assert card(live_url, place)["status_note"] == ""
    assert changes(db, integration) == [
        ("active", "degraded", "rejected", "delivery-worker"),
        ("degraded", "active", "recovered", "delivery-worker"),
    ]


def test_a_retry_still_on_its_schedule_does_not_degrade_the_integration(
    sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    integration, _ = add_webhook(db, place, receiver(sandbox_url, status=503))
    assert run_deliver(add_delivery(db, place, integration, ticket_event())) is Outcome.RETRY
    assert row_status(db, integration) == ("active", None, False) and changes(db, integration) == []


def test_a_reconnect_makes_a_disabled_integration_active_and_says_so(
    live_url: str, sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    integration, _ = add_webhook(db, place, receiver(sandbox_url, status=410))
    assert run_deliver(add_delivery(db, place, integration, ticket_event())) is Outcome.GONE
    shown = card(live_url, place)
    assert shown["status"] == "disabled"
    assert shown["status_note"] == (
        "The endpoint answered 410 Gone: it asked to be removed, so the webhook was disabled. "
        "Reconnect it to turn it back on."
    )

    reconnect(place, receiver(sandbox_url))
    assert row_status(db, integration) == ("active", None, True)
    assert changes(db, integration) == [
        ("active", "disabled", "gone", "delivery-worker"),
        ("disabled", "active", "reconnected", "u-1"),
    ]
    reconnect(place, receiver(sandbox_url))  # installing over a working row is no transition
    assert len(changes(db, integration)) == 2
