"""kill -9 of the worker in the middle of many deliveries, twice: every delivery still ends delivered.

A job whose worker died is run again by the next worker once the dead one's heartbeat is stale
(WORKER_STALLED_SECONDS=3 here). What a killed worker had in hand may arrive twice, never more, and
always with the same `webhook-id`, so a receiver that drops duplicates sees each event exactly once.
"""

from __future__ import annotations

import collections
import signal
import uuid
from pathlib import Path

import httpx
import psycopg

from tests.utils.deliveries import add_webhook, received, running_worker, wait_for
from tests.utils.events import new_place, ticket_event
from tms_console.worker import CONCURRENCY

EVENTS = 150


def delivered(db: psycopg.Connection, integration: uuid.UUID) -> int:
    row = db.execute(
        "SELECT count(*) FROM deliveries WHERE integration_id = %s AND status = 'delivered'", (integration,)
    ).fetchone()
    assert row is not None
    return int(row[0])


def kill_after(db: psycopg.Connection, integration: uuid.UUID, log: Path, at_least: int) -> None:
    """Run a worker until `at_least` deliveries are done, then kill -9 it."""
    with running_worker(log) as worker:
        wait_for(db, "SELECT 1", (), lambda _: delivered(db, integration) >= at_least, timeout=60)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)


def test_killed_workers_lose_nothing_and_duplicate_only_with_the_same_webhook_id(
    live_url: str, sandbox_url: str, db: psycopg.Connection, tmp_path: Path
) -> None:
    place = new_place(db)
    endpoint = uuid.uuid4().hex
    integration, _ = add_webhook(db, place, f"{sandbox_url}/sandbox/webhook/receive/{endpoint}")
    with httpx.Client(base_url=live_url, timeout=20) as client:
        for number in range(EVENTS):
            body = ticket_event(ticket_id=f"K-{number}")
            answer = client.post(place.path, json=body, headers={"Authorization": f"Bearer {place.token()}"})
            assert answer.status_code == 202, answer.text
    log = tmp_path / "worker.log"

    kill_after(db, integration, log, at_least=10)
    killed_at = delivered(db, integration)
    kill_after(db, integration, log, at_least=min(killed_at + 40, EVENTS))
    with running_worker(log):
        wait_for(db, "SELECT 1", (), lambda _: delivered(db, integration) == EVENTS, timeout=90)

    assert killed_at < EVENTS, "the first kill came after every delivery: nothing was proven"
    ids = {
        str(row[0])
        for row in db.execute("SELECT id FROM deliveries WHERE integration_id = %s", (integration,))
    }
    arrivals = collections.Counter(
        record["headers"]["webhook-id"] for record in received(sandbox_url, endpoint)
    )
    assert set(arrivals) == ids  # every delivery arrived, and nothing else did
    duplicated = [count for count in arrivals.values() if count > 1]
    assert all(count == 2 for count in duplicated) and len(duplicated) <= 2 * CONCURRENCY
    pending = db.execute(
        "SELECT count(*) FROM procrastinate_jobs "
        "WHERE args->>'delivery_id' = ANY(%s) AND status <> 'succeeded'",
        (list(ids),),
    ).fetchone()
    assert pending is not None and pending[0] == 0, log.read_text()[-3000:]
