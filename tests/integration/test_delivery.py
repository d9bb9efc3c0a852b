"""Delivery over real HTTP, Postgres and Redis: the worker process sends to the sandbox's webhook receiver.

The worker runs as `python -m tms_console.worker` with the retry schedule compressed a thousandfold.
"""

from __future__ import annotations

import json
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
from standardwebhooks.webhooks import Webhook

from tests.utils.deliveries import (
    SETTLED,
    add_webhook,
    received,
    run_deliver,
    running_worker,
    seal_webhook,
    wait_for,
)
from tests.utils.events import Place, ticket_event
from tms_console.domain.messages import Outcome
from tms_console.security import signing


def endpoint_url(sandbox_url: str, endpoint: str, status: int | None = None) -> str:
    query = f"?status={status}" if status else ""
    return f"{sandbox_url}/sandbox/webhook/receive/{endpoint}{query}"


def post_event(live_url: str, place: Place, **event: Any) -> dict[str, Any]:
    body = ticket_event(**event)
    answer = httpx.post(
        live_url + place.path, json=body, headers={"Authorization": f"Bearer {place.token()}"}, timeout=20
    )
    assert answer.status_code == 202, answer.text
    return body


def settled(db: psycopg.Connection, integration: uuid.UUID, timeout: float = 30) -> tuple[Any, ...]:
    """The integration's one delivery once it is delivered, failed or paused."""
    [row] = wait_for(
        db,
        "SELECT id, status, attempts, last_reason FROM deliveries WHERE integration_id = %s",
        (integration,),
        lambda rows: len(rows) == 1 and rows[0][1] in SETTLED,
        timeout=timeout,
    )
    return tuple(row)


def attempts(db: psycopg.Connection, delivery_id: uuid.UUID) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT attempt, outcome, http_status, reason, detail, duration_ms, next_attempt_at "
        "FROM delivery_attempts WHERE delivery_id = %s ORDER BY attempt",
        (delivery_id,),
    ).fetchall()


def test_an_event_reaches_the_webhook_signed_both_ways(
    worker: Path, live_url: str, sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    endpoint = uuid.uuid4().hex
    url = endpoint_url(sandbox_url, endpoint)
    integration, secret = add_webhook(db, place, url)
    body = post_event(live_url, place, ticket_id="T-100")

    delivery_id, status, tries, _ = settled(db, integration)

    assert (status, tries) == ("delivered", 1)
    [record] = received(sandbox_url, endpoint)
    headers = record["headers"]
    assert headers["webhook-id"] == str(delivery_id)
    payload = Webhook(secret).verify(record["body"], headers)  # as a receiver's library would
    assert payload["id"] == body["id"] and payload["ticket"]["id"] == "T-100"
    assert signing.verify(secret, record["body"].encode(), headers, now=time.time())  # X-TMS-Signature
    assert headers["x-tms-delivery"] == str(delivery_id)
    [(number, outcome, http_status, reason, detail, duration, next_at)] = attempts(db, delivery_id)
    assert (number, outcome, http_status, reason, next_at) == (1, "delivered", 200, None, None)
    assert duration >= 0 and json.loads(detail)["ok"] is True
    log = json.dumps([list(map(str, row)) for row in attempts(db, delivery_id)])
    assert secret not in log and url not in log
    delivered_at = db.execute("SELECT delivered_at FROM deliveries WHERE id = %s", (delivery_id,)).fetchone()
    assert delivered_at is not None and delivered_at[0] is not None


def test_a_failing_endpoint_is_retried_with_the_same_webhook_id_until_it_recovers(
    worker: Path, live_url: str, sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    endpoint = uuid.uuid4().hex
    integration, secret = add_webhook(db, place, endpoint_url(sandbox_url, endpoint, 503))
    post_event(live_url, place)
    wait_for(
        db,
        "SELECT attempts FROM deliveries WHERE integration_id = %s",
        (integration,),
        lambda rows: rows and rows[0][0] >= 2,
    )

    seal_webhook(db, place, integration, endpoint_url(sandbox_url, endpoint), secret)  # the endpoint recovers
    delivery_id, status, tries, _ = settled(db, integration)

    assert status == "delivered" and tries >= 3
    records = received(sandbox_url, endpoint)
    assert [r["answered"] for r in records] == [503] * (tries - 1) + [200]
    assert {r["headers"]["webhook-id"] for r in records} == {str(delivery_id)}
    log = attempts(db, delivery_id)
    assert [(row[1], row[2]) for row in log] == [("retry", 503)] * (tries - 1) + [("delivered", 200)]
    assert all(row[3] == "server_error" and row[6] is not None for row in log[:-1])


def test_a_410_disables_the_webhook_and_fails_the_delivery(
    worker: Path, live_url: str, sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    endpoint = uuid.uuid4().hex
    integration, _ = add_webhook(db, place, endpoint_url(sandbox_url, endpoint, 410))
    post_event(live_url, place)

    delivery_id, status, tries, reason = settled(db, integration)

    assert (status, tries, reason) == ("failed", 1, "gone")
    assert len(received(sandbox_url, endpoint)) == 1
    assert [(row[1], row[2], row[3]) for row in attempts(db, delivery_id)] == [("gone", 410, "gone")]
    row = db.execute(
        "SELECT status, status_reason FROM project_integrations WHERE id = %s", (integration,)
    ).fetchone()
    assert row is not None and tuple(row) == ("disabled", "gone")
    audit = db.execute(
        "SELECT action, reason, actor_id FROM integration_events WHERE integration_id = %s", (integration,)
    ).fetchall()
    assert [tuple(a) for a in audit] == [("status_changed", "gone", "delivery-worker")]
    post_event(live_url, place)  # a disabled webhook receives nothing more
    count = db.execute("SELECT count(*) FROM deliveries WHERE integration_id = %s", (integration,)).fetchone()
    assert count is not None and count[0] == 1


def test_a_400_fails_at_once_and_degrades_the_integration_which_still_receives_events(
    worker: Path, live_url: str, sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    endpoint = uuid.uuid4().hex
    integration, _ = add_webhook(db, place, endpoint_url(sandbox_url, endpoint, 400))
    post_event(live_url, place)

    delivery_id, status, tries, reason = settled(db, integration)

    assert (status, tries, reason) == ("failed", 1, "rejected")
    assert len(received(sandbox_url, endpoint)) == 1
    assert [(row[1], row[2]) for row in attempts(db, delivery_id)] == [("rejected", 400)]
    row = db.execute("SELECT status FROM project_integrations WHERE id = %s", (integration,)).fetchone()
    assert row is not None and row[0] == "degraded"  # not paused, not disabled: the next event is sent
    post_event(live_url, place)
    wait_for(
        db,
        "SELECT count(*) FROM deliveries WHERE integration_id = %s AND status = 'failed'",
        (integration,),
        lambda rows: rows[0][0] == 2,
    )
    assert len(received(sandbox_url, endpoint)) == 2


def test_an_integration_whose_credentials_do_not_decrypt_fails_with_a_reason(
    worker: Path, live_url: str, sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    integration, _ = add_webhook(db, place, endpoint_url(sandbox_url, uuid.uuid4().hex))
    db.execute("UPDATE integration_credentials SET key_id = 'gone' WHERE integration_id = %s", (integration,))
    post_event(live_url, place)

    _, status, tries, reason = settled(db, integration)

    assert (status, tries, reason) == ("failed", 0, "credentials_unreadable")


def test_sigterm_stops_the_worker_cleanly(live_url: str, tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    with running_worker(log) as process:
        wait_for_log(log, "worker_starting")
        time.sleep(1)  # let it connect and start polling
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0, log.read_text()[-3000:]


def wait_for_log(log: Path, text: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while text not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline, f"{text!r} not logged"
        time.sleep(0.1)


def test_a_job_run_again_for_an_attempt_already_recorded_sends_nothing(
    worker: Path, live_url: str, sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    endpoint = uuid.uuid4().hex
    integration, _ = add_webhook(db, place, endpoint_url(sandbox_url, endpoint))
    post_event(live_url, place)
    delivery_id, status, _, _ = settled(db, integration)
    assert status == "delivered"

    assert run_deliver(delivery_id, 1) is None  # delivered already
    db.execute("UPDATE deliveries SET status = 'pending' WHERE id = %s", (delivery_id,))
    assert run_deliver(delivery_id, 1) is None  # attempt 1 is recorded: a stale job
    assert len(received(sandbox_url, endpoint)) == 1
    assert run_deliver(delivery_id, 2) is Outcome.DELIVERED  # the next attempt is due
    assert len(received(sandbox_url, endpoint)) == 2
    assert [row[0] for row in attempts(db, delivery_id)] == [1, 2]
