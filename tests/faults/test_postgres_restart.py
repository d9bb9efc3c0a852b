"""Postgres restarted in the middle of deliveries: the worker rides it out and every delivery arrives.

The console API and the worker (real processes) run on the rig's private Postgres, which this test stops
(`pg_ctl stop -m fast`) for a few seconds while the worker is busy, then starts again. The worker process
keeps running: it says once that the database is unavailable and once that it is back, reconnects (a
fresh procrastinate worker on a fresh pool), and the jobs it had in hand when the connection died run
again at once (requeued as the old worker unregisters, not after the stalled-job watch's wait), so the
webhook's receiver may get those twice, always with the same `webhook-id`. Nothing is lost, nothing
fails, each attempt is recorded once, and the log is a few clear lines: no traceback, no secret.
"""

from __future__ import annotations

import collections
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.utils.artifacts import ARTIFACTS
from tests.utils.deliveries import add_webhook, received, running_worker
from tests.utils.events import Place, new_place, ticket_event
from tests.utils.private_services import Rig
from tms_console.worker import CONCURRENCY

EVENTS = 150
DOWN_SECONDS = 5


@pytest.fixture
def db(rig: Rig) -> Iterator[psycopg.Connection]:
    with psycopg.connect(rig.database_url, autocommit=True) as conn:
        yield conn


def delivered(rig: Rig, integration: uuid.UUID) -> int:
    rows = rig.sql(
        "SELECT count(*) FROM deliveries WHERE integration_id = %s AND status = 'delivered'", (integration,)
    )
    return int(rows[0][0])


def wait_until(condition: object, what: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what} did not happen:\n" + log.read_text()[-4000:]
        time.sleep(0.05)


def post_events(rig: Rig, place: Place) -> None:
    with httpx.Client(base_url=rig.console, timeout=30) as client:
        for number in range(EVENTS):
            body = ticket_event(ticket_id=f"P-{number}")
            answer = client.post(place.path, json=body, headers={"Authorization": f"Bearer {place.token()}"})
            assert answer.status_code == 202, answer.text


def test_a_postgres_restart_mid_run_loses_nothing_and_the_worker_carries_on(
    rig: Rig, db: psycopg.Connection
) -> None:
    place = new_place(db)
    endpoint = uuid.uuid4().hex
    integration, secret = add_webhook(db, place, f"{rig.sandbox}/sandbox/webhook/receive/{endpoint}")
    post_events(rig, place)
    db.close()  # the test's own connection would die with the server anyway
    log = ARTIFACTS / "faults-postgres-restart-worker.log"
    log.unlink(missing_ok=True)

    with running_worker(log, **(rig.env | {"LOG_LEVEL": "INFO"})) as worker:
        wait_until(lambda: delivered(rig, integration) >= 20, "the first deliveries", log, 60)
        rig.postgres.stop()
        stopped_at = len(received(rig.sandbox, endpoint))
        time.sleep(DOWN_SECONDS)
        assert worker.poll() is None, log.read_text()[-4000:]
        rig.postgres.start()
        wait_until(lambda: delivered(rig, integration) == EVENTS, "every delivery", log, 120)
        assert worker.poll() is None, log.read_text()[-4000:]
    text = log.read_text()

    assert stopped_at < EVENTS, "Postgres stopped after every delivery: nothing was proven"
    delivery_of = dict(
        rig.sql(
            "SELECT e.event_id, d.id::text FROM deliveries d "
            "JOIN ticket_events e ON e.id = d.ticket_event_id WHERE d.integration_id = %s",
            (integration,),
        )
    )
    ids = set(delivery_of.values())
    records = received(rig.sandbox, endpoint)
    arrivals = collections.Counter(record["headers"]["webhook-id"] for record in records)
    assert set(arrivals) == ids and len(ids) == EVENTS  # every delivery arrived, and nothing else did
    assert all(r["headers"]["webhook-id"] == delivery_of[json.loads(r["body"])["id"]] for r in records)
    assert all(count <= 2 for count in arrivals.values())
    assert sum(arrivals.values()) - EVENTS <= CONCURRENCY  # only what was in hand when the server went away
    attempts = rig.sql(
        "SELECT count(*), count(DISTINCT a.delivery_id) FROM delivery_attempts a "
        "JOIN deliveries d ON d.id = a.delivery_id WHERE d.integration_id = %s",
        (integration,),
    )
    assert attempts == [(EVENTS, EVENTS)]  # each delivery's attempt recorded once
    pending = rig.sql(
        "SELECT count(*) FROM procrastinate_jobs "
        "WHERE args->>'delivery_id' = ANY(%s) AND status <> 'succeeded'",
        (list(ids),),
    )
    assert pending == [(0,)], text[-4000:]
    # What the first worker left `doing` was requeued as it unregistered (or on reconnect), not found later
    # by the stalled-job watch (this module's private database holds no other worker's jobs).
    assert "stalled_jobs_requeued" not in text, text[-4000:]

    down, back = text.find("worker_database_unavailable"), text.find("worker_database_back")
    assert 0 < down < back, text[-4000:]  # said once each, in that order
    assert text.count("worker_database_unavailable") == 1 and text.count("worker_database_back") == 1
    assert "Traceback" not in text and " ERROR " not in text, text[-6000:]
    assert secret not in text and rig.canary not in text and endpoint not in text
