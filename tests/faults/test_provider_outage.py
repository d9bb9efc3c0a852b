"""A provider answering 500 for a minute, then recovering: deliveries retry on schedule, then all arrive.

Slack (`chat.postMessage`, a real install through the console) and a plain webhook (the sandbox receiver)
both answer 500 to every message while the outage lasts; the real worker process delivers. Time is
compressed twentyfold, the outage with the schedule alike (RETRY_SCHEDULE_SCALE=0.05: 5 s -> 0.25 s,
5 min -> 15 s; the minute -> 3 s), so the run is what a one-minute outage is in production: each ticket's
first event fails at once and again 5 s later, then arrives on the third attempt, 5 minutes later; the
ticket's later events wait behind it (a retry outranks them), so every ticket still arrives in order.
Each failed attempt is logged with HTTP 500, its reason (`provider_unavailable` from the chat hooks,
`server_error` from the webhook) and a next retry time on the schedule, which the worker keeps to.
"""

from __future__ import annotations

import collections
import datetime as dt
import itertools
import json
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.integration.test_install_flow import decide, query_of
from tests.utils.deliveries import add_webhook, received, running_worker, wait_for
from tests.utils.events import Place, new_place, ticket_event
from tms_console.domain.retry_schedule import JITTER, SCHEDULE
from tms_console.security.identity import Identity, issue_token
from tms_console.settings import get_settings

SCALE = 0.05
OUTAGE = 60 * SCALE  # seconds: one minute, compressed like the schedule
TICKETS, PER_TICKET = 4, 3
OUTAGE_FAULT = {"mode": "status", "status": 500, "target": "messages"}
# The reason an attempt answered 500 is logged with: the chat hooks' shared one, the webhook's own.
REASON_500 = {"slack": "provider_unavailable", "webhook": "server_error"}
PROVIDERS = tuple(REASON_500)


@pytest.fixture
def outage(sandbox_url: str) -> Iterator[httpx.Client]:
    """The sandbox's fault API; no fault is left behind, whatever happens."""
    with httpx.Client(base_url=sandbox_url, timeout=20) as client:
        yield client
        for kind in PROVIDERS:
            assert client.delete(f"/sandbox/{kind}/_fault").status_code == 204


def install_slack(live_url: str, db: psycopg.Connection, place: Place) -> uuid.UUID:
    """Install Slack for the place as one of its agents would: console, sandbox consent, callback."""
    agent = Identity("outage-agent", "Olga", place.tenant_id, "agent")
    with httpx.Client(base_url=live_url, follow_redirects=False, timeout=20) as client:
        client.cookies.set("tms_session", issue_token(agent, get_settings()), domain="127.0.0.1")
        started = client.get(
            "/api/console/integrations/slack/install", params={"project_id": str(place.project_id)}
        )
        assert started.status_code == 303, started.text
        consent = client.get(started.headers["location"])
        assert consent.status_code == 200, consent.text[:300]
        done = client.get(decide(client, consent, "approve"))
    assert query_of(done.headers["location"])["status"] == "success", done.headers["location"]
    row = db.execute(
        "SELECT id FROM project_integrations WHERE project_id = %s AND integration_type = 'slack'",
        (place.project_id,),
    ).fetchone()
    assert row is not None
    return uuid.UUID(str(row[0]))


def post_comments(live_url: str, place: Place, marker: str) -> None:
    """PER_TICKET comments on each of TICKETS tickets, interleaved across tickets, numbered in order."""
    with httpx.Client(base_url=live_url, timeout=20) as client:
        for step in range(PER_TICKET):
            for ticket in range(TICKETS):
                comment = {"id": f"c-{step}", "body": f"{marker} T{ticket} #{step}", "public": True}
                body = ticket_event(
                    "ticket.commented", ticket_id=f"{marker}-{ticket}", changes={"comment": comment}
                )
                answer = client.post(
                    place.path, json=body, headers={"Authorization": f"Bearer {place.token()}"}
                )
                assert answer.status_code == 202 and answer.json()["deliveries"] == 2, answer.text


def message_attempts(client: httpx.Client, kind: str) -> int:
    return int(client.get(f"/sandbox/{kind}/_inspect").json()["message_attempts"])


def attempt_rows(db: psycopg.Connection, place: Place) -> dict[tuple[str, str], list[tuple[Any, ...]]]:
    """Each delivery's attempts, oldest first, by (integration type, delivery id)."""
    rows = db.execute(
        "SELECT d.integration_type, d.id, a.attempt, a.outcome, a.http_status, a.reason, a.started_at, "
        "a.next_attempt_at FROM deliveries d JOIN delivery_attempts a ON a.delivery_id = d.id "
        "WHERE d.project_id = %s ORDER BY d.id, a.attempt",
        (place.project_id,),
    ).fetchall()
    attempts: dict[tuple[str, str], list[tuple[Any, ...]]] = collections.defaultdict(list)
    for kind, delivery_id, *attempt in rows:
        attempts[(kind, str(delivery_id))].append(tuple(attempt))
    return attempts


def failed_at_least(db: psycopg.Connection, place: Place, times: int, tickets: int = 1) -> bool:
    """The first event of `tickets` tickets has failed `times` times, on each provider."""
    row = db.execute(
        "SELECT count(*) FROM deliveries WHERE project_id = %s AND attempts >= %s", (place.project_id, times)
    ).fetchone()
    return row is not None and row[0] >= tickets * len(PROVIDERS)


def in_order(texts: list[str], marker: str) -> dict[str, list[str]]:
    """Each ticket's comment numbers in the order they arrived."""
    arrived: dict[str, list[str]] = collections.defaultdict(list)
    for text in texts:
        if found := re.search(re.escape(marker) + r" (T\d+) (#\d+)", text):
            arrived[found[1]].append(found[2])
    return dict(arrived)


def test_a_minute_of_500s_is_retried_on_schedule_then_everything_arrives_in_order(
    live_url: str, sandbox_url: str, db: psycopg.Connection, outage: httpx.Client, tmp_path: Path
) -> None:
    place, marker, endpoint = new_place(db), "outage-" + uuid.uuid4().hex[:8], uuid.uuid4().hex
    slack = install_slack(live_url, db, place)
    webhook, _ = add_webhook(db, place, f"{sandbox_url}/sandbox/webhook/receive/{endpoint}")
    before = {kind: message_attempts(outage, kind) for kind in PROVIDERS}
    log = tmp_path / "worker.log"

    for kind in PROVIDERS:
        assert outage.put(f"/sandbox/{kind}/_fault", json=OUTAGE_FAULT).status_code == 200
    began = time.monotonic()
    with running_worker(log, RETRY_SCHEDULE_SCALE=str(SCALE)) as worker:
        post_comments(live_url, place, marker)
        wait_for(db, "SELECT 1", (), lambda _: failed_at_least(db, place, 2, TICKETS), timeout=60)
        time.sleep(max(0.0, OUTAGE - (time.monotonic() - began)))  # the outage lasts its minute at least
        assert received(sandbox_url, endpoint) == []  # nothing got through while it lasted
        for kind in PROVIDERS:
            assert outage.delete(f"/sandbox/{kind}/_fault").status_code == 204
        wait_for(
            db,
            "SELECT status FROM deliveries WHERE project_id = %s",
            (place.project_id,),
            lambda rows: len(rows) == 2 * TICKETS * PER_TICKET and all(r[0] != "pending" for r in rows),
            timeout=120,
        )
        assert worker.poll() is None, log.read_text()[-3000:]

    statuses = db.execute(
        "SELECT integration_id, status, count(*) FROM deliveries WHERE project_id = %s GROUP BY 1, 2",
        (place.project_id,),
    ).fetchall()
    assert sorted(statuses) == sorted([(slack, "delivered", 12), (webhook, "delivered", 12)])
    integrations = db.execute(
        "SELECT status FROM project_integrations WHERE project_id = %s", (place.project_id,)
    ).fetchall()
    assert integrations == [("active",), ("active",)]  # a 500 is no reason to disconnect anything

    attempts = attempt_rows(db, place)
    assert len(attempts) == 2 * TICKETS * PER_TICKET
    retried = 0
    for (kind, _), rows in attempts.items():
        *failures, last = rows
        assert [row[0] for row in rows] == list(range(1, len(rows) + 1))
        assert last[1:4] == ("delivered", 200, None) and last[5] is None, (kind, rows)
        for number, outcome, http_status, reason, started_at, next_at in failures:
            assert (outcome, http_status, reason) == ("retry", 500, REASON_500[kind]), (kind, rows)
            planned = (next_at - started_at).total_seconds()
            assert (
                SCHEDULE[number] * SCALE * (1 - JITTER)
                <= planned
                < SCHEDULE[number + 1] * SCALE * (1 - JITTER)
            )
        for earlier, later in itertools.pairwise(rows):
            assert later[4] >= earlier[5] - dt.timedelta(milliseconds=10), "a retry ran before its time"
        retried += len(failures) >= 2
    assert retried >= TICKETS * len(PROVIDERS)  # each ticket's first event, on each provider
    total = {kind: sum(len(r) for (k, _), r in attempts.items() if k == kind) for kind in PROVIDERS}
    after = {kind: message_attempts(outage, kind) for kind in PROVIDERS}
    assert {kind: after[kind] - before[kind] for kind in PROVIDERS} == total  # one request per attempt

    expected = {f"T{ticket}": [f"#{step}" for step in range(PER_TICKET)] for ticket in range(TICKETS)}
    bodies = [json.loads(record["body"]) for record in received(sandbox_url, endpoint)]
    assert in_order([body["changes"]["comment"]["body"] for body in bodies], marker) == expected
    posted = [
        item
        for item in outage.get("/sandbox/slack/_inspect").json()["deliveries"]
        if marker in json.dumps(item)
    ]
    assert in_order([json.dumps(item) for item in posted], marker) == expected
    threads = collections.Counter(bool(item.get("thread_ts")) for item in posted)
    assert threads == {
        False: TICKETS,
        True: TICKETS * (PER_TICKET - 1),
    }  # later comments in the ticket's thread
    assert "Traceback" not in log.read_text()


def test_a_429_with_retry_after_is_tried_again_no_sooner_than_it_asked(
    live_url: str, sandbox_url: str, db: psycopg.Connection, outage: httpx.Client, tmp_path: Path
) -> None:
    """Slack and the webhook receiver answer 429 with `Retry-After: 30`, as their rate limiters do: the
    next attempt waits the 30 s asked (compressed like the schedule: 1.5 s), not the schedule's 5 s."""
    place, marker, endpoint = new_place(db), "limited-" + uuid.uuid4().hex[:8], uuid.uuid4().hex
    install_slack(live_url, db, place)
    add_webhook(db, place, f"{sandbox_url}/sandbox/webhook/receive/{endpoint}")
    fault = {"mode": "rate_limited", "retry_after": "integer", "target": "messages"}
    for kind in PROVIDERS:
        assert outage.put(f"/sandbox/{kind}/_fault", json=fault).status_code == 200
    log = tmp_path / "worker.log"
    with running_worker(log, RETRY_SCHEDULE_SCALE=str(SCALE)):
        comment = {"id": "c-1", "body": f"{marker} T0 #0", "public": True}
        body = ticket_event("ticket.commented", ticket_id=marker, changes={"comment": comment})
        answer = httpx.post(
            live_url + place.path, json=body, headers={"Authorization": f"Bearer {place.token()}"}, timeout=20
        )
        assert answer.status_code == 202 and answer.json()["deliveries"] == 2, answer.text
        wait_for(db, "SELECT 1", (), lambda _: failed_at_least(db, place, 1), timeout=60)
        for kind in PROVIDERS:
            assert outage.delete(f"/sandbox/{kind}/_fault").status_code == 204
        wait_for(
            db,
            "SELECT status FROM deliveries WHERE project_id = %s",
            (place.project_id,),
            lambda rows: len(rows) == 2 and all(r[0] == "delivered" for r in rows),
            timeout=60,
        )

    attempts = attempt_rows(db, place)
    assert {kind for kind, _ in attempts} == set(PROVIDERS)
    for (kind, _), rows in attempts.items():
        *limited, last = rows
        assert limited and last[1:4] == ("delivered", 200, None), (kind, rows)
        for _, outcome, http_status, reason, started_at, next_at in limited:
            assert (outcome, http_status, reason) == ("retry", 429, "rate_limited"), (kind, rows)
            assert (next_at - started_at).total_seconds() >= 30 * SCALE  # what it asked, not the 5 s
        for earlier, later in itertools.pairwise(rows):
            assert later[4] >= earlier[5] - dt.timedelta(milliseconds=10), "a retry ran before its time"
    retry_after = db.execute(
        "SELECT DISTINCT a.retry_after FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id "
        "WHERE d.project_id = %s AND a.outcome = 'retry'",
        (place.project_id,),
    ).fetchall()
    assert retry_after == [(30.0,)]
