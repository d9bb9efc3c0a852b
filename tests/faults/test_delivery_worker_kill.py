"""kill -9 of the worker 20 times in the middle of 300 deliveries: every delivery still ends delivered.

Each worker runs until 6 to 10 more deliveries are done, then is killed at once, so every kill lands
while the queue is still full and (nearly always) the worker has jobs in hand; a fresh worker starts
each time and a last one finishes. A job whose worker died is run again by the next worker once the
dead one's heartbeat is stale (WORKER_STALLED_SECONDS=3 here).

The guarantee proven, exactly: a delivery is received at most once, plus once more for each kill that
found its job in that worker's hands (`doing`, owned by the killed worker: it may have been posted but
not yet recorded). So duplicates come only from kills, never more than what the killed worker had in
flight (at most its concurrency), and always carry the same `webhook-id`, so a receiver that drops
duplicates sees each event exactly once. Each delivery's attempt is recorded once.
"""

from __future__ import annotations

import collections
import json
import random
import signal
import time
import uuid
from pathlib import Path

import httpx
import psycopg

from tests.utils.deliveries import add_webhook, received, running_worker, wait_for
from tests.utils.events import Place, new_place, ticket_event
from tms_console.worker import CONCURRENCY

# Room for the 20 kills' overshoot: a kill lands a poll after its count, and on a quiet machine a worker
# delivers ~3 more meanwhile, so the kills' points drift ~11 apart, not 8 (200 events ran out once).
EVENTS = 300
KILLS = 20
STEPS = (6, 10)  # each worker delivers this many more (at least) before its kill -9
POLL = 0.02  # seconds between looks at the count, so a kill lands close to its planned point


def delivered(db: psycopg.Connection, integration: uuid.UUID) -> int:
    row = db.execute(
        "SELECT count(*) FROM deliveries WHERE integration_id = %s AND status = 'delivered'", (integration,)
    ).fetchone()
    assert row is not None
    return int(row[0])


def newest_worker(db: psycopg.Connection) -> int:
    row = db.execute("SELECT coalesce(max(id), 0) FROM procrastinate_workers").fetchone()
    assert row is not None
    return int(row[0])


def kill_after(db: psycopg.Connection, integration: uuid.UUID, log: Path, at_least: int) -> set[str]:
    """Run a fresh worker until `at_least` deliveries are done, kill -9 it; the deliveries it had in hand."""
    before = newest_worker(db)
    with running_worker(log) as worker:
        deadline = time.monotonic() + 120
        while delivered(db, integration) < at_least:
            assert worker.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, f"no progress to {at_least}: " + log.read_text()[-3000:]
            time.sleep(POLL)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    # Dead now, and no other worker runs until the next one starts: its jobs still say `doing`.
    rows = db.execute(
        "SELECT args->>'delivery_id' FROM procrastinate_jobs WHERE status = 'doing' AND worker_id > %s",
        (before,),
    ).fetchall()
    return {str(row[0]) for row in rows}


def post_events(live_url: str, place: Place) -> None:
    with httpx.Client(base_url=live_url, timeout=20) as client:
        for number in range(EVENTS):
            body = ticket_event(ticket_id=f"K-{number}")
            answer = client.post(place.path, json=body, headers={"Authorization": f"Bearer {place.token()}"})
            assert answer.status_code == 202, answer.text


def test_twenty_kills_lose_nothing_and_duplicate_only_what_the_killed_worker_had_in_hand(
    live_url: str, sandbox_url: str, db: psycopg.Connection, tmp_path: Path
) -> None:
    place = new_place(db)
    endpoint = uuid.uuid4().hex
    integration, _ = add_webhook(db, place, f"{sandbox_url}/sandbox/webhook/receive/{endpoint}")
    post_events(live_url, place)
    log = tmp_path / "worker.log"
    steps = random.Random(10).choices(range(STEPS[0], STEPS[1] + 1), k=KILLS)

    in_hand: list[set[str]] = []
    killed_at: list[int] = []
    for step in steps:
        in_hand.append(kill_after(db, integration, log, delivered(db, integration) + step))
        killed_at.append(delivered(db, integration))
    with running_worker(log):
        wait_for(db, "SELECT 1", (), lambda _: delivered(db, integration) == EVENTS, timeout=180)

    # Every kill landed mid-run; most found jobs in the killed worker's hands (one may land between two
    # fetches, with nothing in hand: a kill that proves less, not a failure), never more than it runs.
    assert max(killed_at) < EVENTS, killed_at
    held = [len(jobs) for jobs in in_hand]
    assert all(count <= CONCURRENCY for count in held) and sum(1 for c in held if c) >= KILLS // 2, held
    rows = db.execute(
        "SELECT d.id, d.status, e.event_id, count(a.id) FROM deliveries d "
        "JOIN ticket_events e ON e.id = d.ticket_event_id "
        "LEFT JOIN delivery_attempts a ON a.delivery_id = d.id "
        "WHERE d.integration_id = %s GROUP BY d.id, e.event_id",
        (integration,),
    ).fetchall()
    assert len(rows) == EVENTS
    assert {row[1] for row in rows} == {"delivered"} and {row[3] for row in rows} == {1}
    event_of = {str(row[0]): row[2] for row in rows}

    records = received(sandbox_url, endpoint)
    arrivals = collections.Counter(record["headers"]["webhook-id"] for record in records)
    assert set(arrivals) == set(event_of)  # every delivery arrived, and nothing else did
    webhook_ids = collections.defaultdict(set)
    for record in records:
        webhook_ids[json.loads(record["body"])["id"]].add(record["headers"]["webhook-id"])
    assert {event: {str(d) for d in ids} for event, ids in webhook_ids.items()} == {
        event: {delivery} for delivery, event in event_of.items()
    }  # one webhook-id per event, on every copy
    kills_holding = collections.Counter(delivery for jobs in in_hand for delivery in jobs)
    over = {d: n for d, n in arrivals.items() if n > 1 + kills_holding[d]}
    assert not over, f"arrived more often than kills could explain: {over}"
    assert sum(arrivals.values()) - EVENTS <= sum(len(jobs) for jobs in in_hand) <= KILLS * CONCURRENCY

    pending = db.execute(
        "SELECT count(*) FROM procrastinate_jobs "
        "WHERE args->>'delivery_id' = ANY(%s) AND status <> 'succeeded'",
        (list(event_of),),
    ).fetchone()
    assert pending is not None and pending[0] == 0, log.read_text()[-3000:]
