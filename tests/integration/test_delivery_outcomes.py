"""What each outcome does to the delivery and the integration, with the deliver job run in this process.

The deliveries here have no queued job (tests/utils/deliveries.add_delivery), so no worker takes them;
the job's body (services.delivery.deliver) runs against the real database and the sandbox receiver.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import psycopg
import pytest

from tests.utils.deliveries import add_delivery, add_webhook, received, run_deliver
from tests.utils.events import Place, add_integration, new_place, ticket_event
from tests.utils.live import run_in_thread
from tms_console.domain.messages import Outcome, SendResult
from tms_console.domain.values import Installation
from tms_console.persistence import deliveries
from tms_console.persistence.db import dispose_engine
from tms_console.persistence.models import utcnow
from tms_console.providers.hooks.webhook import WebhookHooks
from tms_console.security import signing
from tms_console.services import credentials
from tms_console.services.credentials import Actor
from tms_console.services.delivery_outcome import Attempt, settle
from tms_console.services.unit_of_work import unit_of_work


@pytest.fixture
def place(db: psycopg.Connection) -> Place:
    return new_place(db)


def receiver(sandbox_url: str, endpoint: str = "", *, status: int | None = None) -> str:
    query = f"?status={status}" if status else ""
    return f"{sandbox_url}/sandbox/webhook/receive/{endpoint or uuid.uuid4().hex}{query}"


def state(db: psycopg.Connection, delivery_id: uuid.UUID) -> tuple[Any, ...]:
    row = db.execute(
        "SELECT d.status, d.attempts, d.last_reason, d.next_attempt_at IS NOT NULL, "
        "i.status, i.status_reason FROM deliveries d "
        "JOIN project_integrations i ON i.id = d.integration_id WHERE d.id = %s",
        (delivery_id,),
    ).fetchone()
    assert row is not None
    return tuple(row)


def jobs_for(db: psycopg.Connection, delivery_id: uuid.UUID) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT args->>'attempt', priority, lock, scheduled_at > now() - interval '1 minute' "
        "FROM procrastinate_jobs WHERE args->>'delivery_id' = %s",
        (str(delivery_id),),
    ).fetchall()


def test_a_retry_queues_the_next_attempt_with_the_ticket_s_lock_ahead_of_its_later_events(
    sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    integration, _ = add_webhook(db, place, receiver(sandbox_url, status=502))
    delivery_id = add_delivery(db, place, integration, ticket_event(ticket_id="T-7"))

    assert run_deliver(delivery_id) is Outcome.RETRY

    assert state(db, delivery_id) == ("pending", 1, "server_error", True, "active", None)
    assert jobs_for(db, delivery_id) == [("2", 1, f"delivery:{integration}:T-7", True)]


def test_the_eighth_failed_attempt_fails_the_delivery_queues_nothing_and_degrades_the_integration(
    sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    integration, _ = add_webhook(db, place, receiver(sandbox_url, status=500))
    delivery_id = add_delivery(db, place, integration, ticket_event(), attempts=7)

    assert run_deliver(delivery_id, 8) is Outcome.RETRY

    assert state(db, delivery_id) == ("failed", 8, "server_error", False, "degraded", "server_error")
    assert jobs_for(db, delivery_id) == []


def test_a_redirect_is_a_failure_and_is_not_followed(
    sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    endpoint = uuid.uuid4().hex
    integration, _ = add_webhook(db, place, receiver(sandbox_url, endpoint, status=302))
    delivery_id = add_delivery(db, place, integration, ticket_event())

    assert run_deliver(delivery_id) is Outcome.REJECTED

    assert state(db, delivery_id) == ("failed", 1, "redirect", False, "degraded", "redirect")
    assert len(received(sandbox_url, endpoint)) == 1


def test_an_auth_failure_pauses_the_delivery_and_asks_for_a_reconnect(
    sandbox_url: str, db: psycopg.Connection, place: Place, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused(*args: object, **kwargs: object) -> SendResult:
        return SendResult(Outcome.AUTH_FAILED, 401, reason="invalid_auth")

    monkeypatch.setattr(WebhookHooks, "send_message", refused)  # as a chat platform's hook answers
    integration, _ = add_webhook(db, place, receiver(sandbox_url))
    first = add_delivery(db, place, integration, ticket_event())
    later = add_delivery(db, place, integration, ticket_event())

    assert run_deliver(first) is Outcome.AUTH_FAILED
    assert run_deliver(later) is None  # the integration needs a reconnect: waits, without an attempt

    assert state(db, first) == ("paused", 1, "invalid_auth", False, "needs_reconnect", "invalid_auth")
    assert state(db, later) == ("paused", 0, "invalid_auth", False, "needs_reconnect", "invalid_auth")
    audit = db.execute(
        "SELECT action, reason FROM integration_events WHERE integration_id = %s", (integration,)
    ).fetchall()
    assert [tuple(row) for row in audit] == [("status_changed", "invalid_auth")]

    # The agent reconnects (the same row, new credentials): both deliveries go back in the queue, in the
    # transaction that saved the credentials, each as its next attempt, and then arrive.
    monkeypatch.undo()
    endpoint = uuid.uuid4().hex
    reconnect(place, receiver(sandbox_url, endpoint))
    assert state(db, first)[:2] == ("pending", 1) and state(db, later)[:2] == ("pending", 0)
    assert [job[0] for job in jobs_for(db, first)] == ["2"] and [job[0] for job in jobs_for(db, later)] == [
        "1"
    ]
    assert run_deliver(first, 2) is Outcome.DELIVERED and run_deliver(later, 1) is Outcome.DELIVERED
    assert state(db, first)[0] == state(db, later)[0] == "delivered"
    assert len(received(sandbox_url, endpoint)) == 2
    changes = db.execute(
        "SELECT action, from_status, to_status, reason, actor_id FROM integration_events "
        "WHERE integration_id = %s AND action <> 'installed' ORDER BY created_at",
        (integration,),
    ).fetchall()
    assert [tuple(row) for row in changes] == [
        ("status_changed", "active", "needs_reconnect", "invalid_auth", "delivery-worker"),
        ("reconnected", None, None, "reconnected", "u-1"),
        ("status_changed", "needs_reconnect", "active", "reconnected", "u-1"),
    ]


def reconnect(place: Place, url: str) -> None:
    """What connecting the webhook again does: save new credentials on the same row."""

    async def save() -> None:
        try:
            secrets = {"url": url, "signing_secret": signing.new_signing_secret(), "template": ""}
            install = Installation(meta={"events": []}, secrets=secrets)
            actor = Actor(str(place.tenant_id), str(place.project_id), "u-1", "Ada")
            await credentials.save_installation(actor, "webhook", install)
        finally:
            await dispose_engine()

    run_in_thread(lambda: asyncio.run(save()))


def test_a_delivery_to_an_uninstalled_integration_fails_with_a_reason(
    db: psycopg.Connection, place: Place
) -> None:
    integration = add_integration(db, place, "webhook")
    delivery_id = add_delivery(db, place, integration, ticket_event())
    db.execute("DELETE FROM project_integrations WHERE id = %s", (integration,))

    assert run_deliver(delivery_id) is None

    row = db.execute("SELECT status, last_reason FROM deliveries WHERE id = %s", (delivery_id,)).fetchone()
    assert row is not None and tuple(row) == ("failed", "uninstalled")


def test_a_waiting_retry_holds_back_the_ticket_s_later_events_but_not_other_tickets(
    sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    integration, _ = add_webhook(db, place, receiver(sandbox_url, status=503))
    first = add_delivery(db, place, integration, ticket_event(ticket_id="T-1"))
    assert run_deliver(first) is Outcome.RETRY  # its retry waits about 5 s
    queue = "order-" + uuid.uuid4().hex  # only this test's jobs are fetched below

    def fetch(ticket: str) -> int | None:
        lock = f"delivery:{integration}:{ticket}"
        db.execute(
            "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW(%s, 'deliver', 0, %s, NULL, '{}', NULL)"
            "::procrastinate_job_to_defer_v1])",
            (queue, lock),
        )
        worker = db.execute("SELECT worker_id FROM procrastinate_register_worker_v1()").fetchone()
        assert worker is not None
        row = db.execute(
            "SELECT (procrastinate_fetch_job_v2(ARRAY[%s], %s)).lock", (queue, worker[0])
        ).fetchone()
        return None if row is None else row[0]

    with db.transaction(force_rollback=True):  # procrastinate's own fetch, undone afterwards
        assert fetch("T-1") is None  # the same ticket's next event waits for the retry
        assert fetch("T-2") == f"delivery:{integration}:T-2"  # another ticket does not


def test_a_ticket_s_first_handle_is_kept_and_handed_to_its_later_messages(
    sandbox_url: str, db: psycopg.Connection, place: Place, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed: list[str] = []

    async def threaded(*args: object, thread_handle: str = "", **kwargs: object) -> SendResult:
        handed.append(thread_handle)  # as a threading platform's hook: its first message opens the thread
        return SendResult(Outcome.DELIVERED, 200, thread_handle=thread_handle or f"h-{len(handed)}")

    monkeypatch.setattr(WebhookHooks, "send_message", threaded)
    integration, _ = add_webhook(db, place, receiver(sandbox_url))
    for ticket in ("T-1", "T-1", "T-2", "T-1"):
        assert (
            run_deliver(add_delivery(db, place, integration, ticket_event(ticket_id=ticket)))
            is Outcome.DELIVERED
        )

    assert handed == ["", "h-1", "", "h-1"]
    threads = db.execute(
        "SELECT ticket_id, handle FROM ticket_threads WHERE integration_id = %s ORDER BY ticket_id",
        (integration,),
    ).fetchall()
    assert [tuple(row) for row in threads] == [("T-1", "h-1"), ("T-2", "h-3")]


def test_an_attempt_settled_twice_at_once_is_recorded_once_and_queues_one_retry(
    sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    """Settling takes no row lock: the delivery's UPDATE names the attempt it records, so of two settles
    of one attempt (a job run again while the first run still settles) exactly one writes anything."""
    integration, _ = add_webhook(db, place, receiver(sandbox_url, status=500))
    delivery_id = add_delivery(db, place, integration, ticket_event(ticket_id="T-9"))
    attempt = Attempt(SendResult(Outcome.RETRY, 500, "server_error"), utcnow(), 12)

    async def settle_twice() -> None:
        try:
            async with unit_of_work(autocommit=True) as session:
                record = await deliveries.load(session, delivery_id)
            assert record is not None
            await asyncio.gather(*(settle(record, 1, attempt) for _ in range(2)))
        finally:
            await dispose_engine()

    run_in_thread(lambda: asyncio.run(settle_twice()))

    assert state(db, delivery_id)[:4] == ("pending", 1, "server_error", True)
    logged = db.execute("SELECT count(*) FROM delivery_attempts WHERE delivery_id = %s", (delivery_id,))
    assert logged.fetchone() == (1,)
    assert jobs_for(db, delivery_id) == [("2", 1, f"delivery:{integration}:T-9", True)]
    assert run_deliver(delivery_id, 1) is None  # that attempt was made: a third run does nothing
