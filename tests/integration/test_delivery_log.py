"""The delivery log over real HTTP, Postgres and the worker process: list (filters, paging), one delivery
with its attempts, resend, retry failed since a time, tenancy, no secret in any answer, and the cleanup.

Deliveries are either made for real (an event posted to the intake, the worker sending to the sandbox's
webhook receiver) or planted in the tables with chosen statuses and times (listing and cleanup).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.utils.deliveries import SETTLED, add_webhook, received, seal_webhook, wait_for
from tests.utils.events import Place, add_integration, new_place, ticket_event
from tests.utils.live import run_in_thread
from tms_console.persistence.db import dispose_engine
from tms_console.services import delivery_log

NOW = datetime.now(UTC)


class Api:
    """The REST API as one person of a place's tenant (an agent unless told)."""

    def __init__(self, live_url: str, place: Place, role: str = "agent") -> None:
        self.base = f"{live_url}/v1/tenants/{place.tenant_id}/projects/{place.project_id}"
        self.headers = {"Authorization": f"Bearer {place.token(role)}"}

    def get(self, path: str = "", **params: Any) -> httpx.Response:
        return httpx.get(self.base + "/deliveries" + path, params=params, headers=self.headers, timeout=20)

    def list(self, **params: Any) -> dict[str, Any]:
        answer = self.get(**params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def ids(self, **params: Any) -> list[str]:
        return [d["id"] for d in self.list(**params)["deliveries"]]

    def resend(self, delivery_id: uuid.UUID | str) -> httpx.Response:
        return httpx.post(f"{self.base}/deliveries/{delivery_id}/resend", headers=self.headers, timeout=20)

    def retry_failed(self, kind: str, since: Any) -> httpx.Response:
        url = f"{self.base}/integrations/{kind}/retry-failed"
        return httpx.post(url, json={"since": since}, headers=self.headers, timeout=20)


def receiver(sandbox_url: str, endpoint: str, status: int | None = None) -> str:
    return f"{sandbox_url}/sandbox/webhook/receive/{endpoint}" + (f"?status={status}" if status else "")


def post_event(live_url: str, place: Place, **event: Any) -> dict[str, Any]:
    body = ticket_event(**event)
    answer = httpx.post(
        live_url + place.path, json=body, headers={"Authorization": f"Bearer {place.token()}"}, timeout=20
    )
    assert answer.status_code == 202, answer.text
    return body


def plant(
    db: psycopg.Connection,
    place: Place,
    integration: uuid.UUID,
    kind: str,
    *,
    event_type: str = "ticket.created",
    status: str = "delivered",
    at: datetime = NOW,
    updated: datetime | None = None,
    subject: str = "Printer on fire",
    event_row: uuid.UUID | None = None,
) -> uuid.UUID:
    """A stored event (unless `event_row` is given) and one delivery of it, created at `at`; no job."""
    if event_row is None:
        event = ticket_event(event_type)
        event["ticket"]["subject"] = subject
        event_row = uuid.uuid4()
        db.execute(
            "INSERT INTO ticket_events (id, tenant_id, project_id, event_id, type, payload, answer, "
            "received_at) VALUES (%s, %s, %s, %s, %s, %s, '{}', %s)",
            (event_row, place.tenant_id, place.project_id, event["id"], event_type, Jsonb(event), at),
        )
    delivery_id = uuid.uuid4()
    db.execute(
        "INSERT INTO deliveries (id, ticket_event_id, tenant_id, project_id, integration_id, "
        "integration_type, status, attempts, created_at, updated_at, last_reason) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, 1, %s, %s, CASE WHEN %s = 'failed' THEN 'server_error' END)",
        (delivery_id, event_row, place.tenant_id, place.project_id, integration, kind, status, at,
         updated or at, status),
    )  # fmt: skip
    return delivery_id


def event_of(db: psycopg.Connection, delivery_id: uuid.UUID | str) -> uuid.UUID:
    row = db.execute("SELECT ticket_event_id FROM deliveries WHERE id = %s", (delivery_id,)).fetchone()
    assert row is not None
    return uuid.UUID(str(row[0]))


def settled_ids(db: psycopg.Connection, integration: uuid.UUID, count: int) -> list[tuple[Any, ...]]:
    return wait_for(
        db,
        "SELECT id, status, attempts, last_reason FROM deliveries WHERE integration_id = %s "
        "ORDER BY created_at",
        (integration,),
        lambda rows: len(rows) == count and all(r[1] in SETTLED for r in rows),
    )


# Listing -------------------------------------------------------------------------------------------


def test_the_list_filters_by_integration_status_event_type_and_time_and_pages_newest_first(
    live_url: str, db: psycopg.Connection, place: Place
) -> None:
    hook, slack = add_integration(db, place, "webhook"), add_integration(db, place, "slack")
    hour = timedelta(hours=1)
    a = plant(db, place, hook, "webhook", status="delivered", at=NOW - 3 * hour)
    b = plant(db, place, hook, "webhook", event_type="ticket.commented", status="failed", at=NOW - 2 * hour)
    c = plant(db, place, slack, "slack", status="failed", at=NOW - hour, subject="S" * 500)
    d = plant(db, place, slack, "slack", event_type="ticket.resolved", status="paused", at=NOW - hour / 2)
    e = plant(db, place, hook, "webhook", event_type="ticket.assigned", status="pending", at=NOW)
    api = Api(live_url, place)
    newest_first = [str(x) for x in (e, d, c, b, a)]

    everything = api.list()
    assert (everything["total"], [x["id"] for x in everything["deliveries"]]) == (5, newest_first)
    assert api.ids(integration="slack") == [str(d), str(c)]
    assert api.ids(status="failed") == [str(c), str(b)]
    assert api.ids(event_type="ticket.created") == [str(c), str(a)]
    split = (NOW - 1.5 * hour).isoformat()
    assert api.ids(since=split) == [str(e), str(d), str(c)]
    assert api.ids(until=split) == [str(b), str(a)]
    assert api.ids(integration="webhook", status="failed", since=(NOW - 3 * hour).isoformat()) == [str(b)]
    assert api.ids(integration="discord") == []
    pages = [api.list(page=n, page_size=2) for n in (1, 2, 3)]
    assert [x["id"] for p in pages for x in p["deliveries"]] == newest_first
    assert [len(p["deliveries"]) for p in pages] == [2, 2, 1] and {p["total"] for p in pages} == {5}

    row = next(x for x in everything["deliveries"] if x["id"] == str(c))
    assert row["integration_type"] == "slack" and row["event_type"] == "ticket.created"
    assert row["ticket_number"] == "1042" and row["ticket_subject"] == "S" * 200  # bounded
    assert (row["status"], row["attempts"], row["last_reason"]) == ("failed", 1, "server_error")
    assert "tried again later" in row["explanation"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "bogus"}, "status"),
        ({"event_type": "ticket.exploded"}, "event_type"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-12-01T10:00:00"}, "until"),  # no time zone: ambiguous, refused
        ({"page": 0}, "page"),
        ({"page_size": 101}, "page_size"),
        ({"integration": "Slack!"}, "integration"),
    ],
)
def test_a_bad_filter_is_refused_naming_the_field(
    live_url: str, place: Place, params: dict[str, Any], field: str
) -> None:
    answer = Api(live_url, place).get(**params)
    assert answer.status_code == 422, answer.text
    assert [error["loc"] for error in answer.json()["detail"]] == [["query", field]]


# One delivery, resend, retry failed (the worker sends to the sandbox) ------------------------------------


def test_one_delivery_lists_its_attempts_in_plain_words_and_no_secret(
    worker: Path, live_url: str, sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    endpoint = uuid.uuid4().hex
    url = receiver(sandbox_url, endpoint, 503)
    integration, secret = add_webhook(db, place, url)
    post_event(live_url, place)
    wait_for(
        db,
        "SELECT attempts FROM deliveries WHERE integration_id = %s",
        (integration,),
        lambda rows: rows and rows[0][0] >= 2,
    )
    seal_webhook(db, place, integration, receiver(sandbox_url, endpoint), secret)  # it recovers
    [(delivery_id, status, tries, _)] = settled_ids(db, integration, 1)
    assert status == "delivered"

    answer = Api(live_url, place, role="admin").get(f"/{delivery_id}")

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["delivery"]["id"] == str(delivery_id) and body["delivery"]["status"] == "delivered"
    assert body["delivery"]["explanation"] == "Delivered." and body["delivery"]["delivered_at"]
    log = body["attempts"]
    assert [a["attempt"] for a in log] == list(range(1, tries + 1))
    assert [(a["outcome"], a["http_status"], a["reason"]) for a in log[:-1]] == [
        ("retry", 503, "server_error")
    ] * (tries - 1)
    assert all("server had an error" in a["explanation"] and a["next_attempt_at"] for a in log[:-1])
    assert (log[-1]["outcome"], log[-1]["http_status"], log[-1]["next_attempt_at"]) == (
        "delivered",
        200,
        None,
    )
    assert all(a["duration_ms"] >= 0 and a["started_at"] for a in log)
    # The receiver's answer is kept (1 KiB at most), with the URL's secret part (it echoes) masked.
    assert json.loads(log[-1]["detail"]) == {"ok": True, "endpoint": "***"}
    # No secret in the log: not the signing secret, not the webhook URL or its endpoint part.
    listing = Api(live_url, place).get().text
    for text in (answer.text, listing):
        assert str(delivery_id) in text  # the scan reads real content
        assert secret not in text
        assert endpoint not in text and "sandbox/webhook" not in text


def test_resend_makes_a_new_delivery_that_arrives_once_the_target_recovers(
    worker: Path, live_url: str, sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    endpoint = uuid.uuid4().hex
    integration, secret = add_webhook(db, place, receiver(sandbox_url, endpoint, 400))
    post_event(live_url, place, ticket_id="T-resend")
    [(failed_id, status, _, reason)] = settled_ids(db, integration, 1)
    assert (status, reason) == ("failed", "rejected")
    seal_webhook(db, place, integration, receiver(sandbox_url, endpoint), secret)  # the target is fixed
    api = Api(live_url, place)

    answer = api.resend(failed_id)

    assert answer.status_code == 202, answer.text
    new_id = answer.json()["delivery_id"]
    rows = settled_ids(db, integration, 2)
    assert [(str(r[0]), r[1]) for r in rows] == [(str(failed_id), "failed"), (new_id, "delivered")]
    assert event_of(db, new_id) == event_of(db, failed_id)  # the same ticket event, a new delivery
    records = received(sandbox_url, endpoint)
    assert [(r["answered"], r["headers"]["webhook-id"]) for r in records] == [
        (400, str(failed_id)),
        (200, new_id),
    ]
    assert api.ids() == [new_id, str(failed_id)]  # the log keeps the failed one as it was
    old = api.get(f"/{failed_id}").json()
    assert old["delivery"]["status"] == "failed" and len(old["attempts"]) == 1


def test_resend_is_refused_while_under_way_or_when_the_integration_cannot_receive(
    live_url: str, sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    integration, _ = add_webhook(db, place, receiver(sandbox_url, uuid.uuid4().hex))
    done = plant(db, place, integration, "webhook", status="failed")
    under_way = plant(db, place, integration, "webhook", status="pending", event_row=event_of(db, done))
    api = Api(live_url, place)
    count = "SELECT count(*) FROM deliveries WHERE integration_id = %s"
    before = db.execute(count, (integration,)).fetchone()

    for target in (done, under_way):  # the event is still being delivered: no second copy
        answer = api.resend(target)
        assert (answer.status_code, answer.json()["reason"]) == (409, "delivery_pending"), answer.text
    db.execute("UPDATE deliveries SET status = 'failed' WHERE id = %s", (under_way,))
    for status, reason in (("disabled", "integration_disabled"), ("needs_reconnect", "needs_reconnect")):
        db.execute("UPDATE project_integrations SET status = %s WHERE id = %s", (status, integration))
        answer = api.resend(done)
        assert (answer.status_code, answer.json()["reason"]) == (409, reason), answer.text
        answer = api.retry_failed("webhook", (NOW - timedelta(days=1)).isoformat())
        assert (answer.status_code, answer.json()["reason"]) == (409, reason), answer.text
    db.execute("DELETE FROM project_integrations WHERE id = %s", (integration,))
    answer = api.resend(done)
    assert (answer.status_code, answer.json()["reason"]) == (409, "uninstalled"), answer.text
    assert api.retry_failed("webhook", NOW.isoformat()).status_code == 404  # nothing installed
    assert db.execute(count, (integration,)).fetchone() == before


def test_retry_failed_resends_what_failed_since_a_time_once(
    worker: Path, live_url: str, sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    endpoint = uuid.uuid4().hex
    integration, secret = add_webhook(db, place, receiver(sandbox_url, endpoint, 400))
    long_ago = plant(db, place, integration, "webhook", status="failed", at=NOW - timedelta(days=3))
    for n in range(3):
        post_event(live_url, place, ticket_id=f"T-{n}")
    failed = settled_ids(db, integration, 4)
    assert [r[1] for r in failed] == ["failed"] * 4
    seal_webhook(db, place, integration, receiver(sandbox_url, endpoint), secret)
    api = Api(live_url, place)
    since = (NOW - timedelta(days=1)).isoformat()

    answer = api.retry_failed("webhook", since)

    assert (answer.status_code, answer.json()) == (202, {"queued": 3})
    rows = settled_ids(db, integration, 7)
    assert sorted(r[1] for r in rows) == ["delivered"] * 3 + ["failed"] * 4
    assert len([r for r in received(sandbox_url, endpoint) if r["answered"] == 200]) == 3
    assert api.retry_failed("webhook", since).json() == {"queued": 0}  # their latest delivery arrived
    assert api.list(status="failed")["total"] == 4 and str(long_ago) in api.ids(status="failed")
    for bad in ({"since": "2026-12-01T10:00:00"}, {"since": "soon"}, {}):
        refused = httpx.post(
            f"{api.base}/integrations/webhook/retry-failed", json=bad, headers=api.headers, timeout=20
        )
        assert refused.status_code == 422 and refused.json()["detail"][0]["loc"][:2] == ["body", "since"]


# Tenancy -------------------------------------------------------------------------------------------


def test_another_tenants_deliveries_look_exactly_like_missing_ones(
    live_url: str, sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    victim = new_place(db)
    victims_hook, _ = add_webhook(db, victim, receiver(sandbox_url, uuid.uuid4().hex))
    theirs = plant(db, victim, victims_hook, "webhook", status="failed")
    own_hook, _ = add_webhook(db, place, receiver(sandbox_url, uuid.uuid4().hex))
    mine = plant(db, place, own_hook, "webhook", status="failed")
    sibling = Place(place.tenant_id, uuid.uuid4())  # another project of the caller's own tenant
    db.execute(
        "INSERT INTO projects (id, tenant_id, name) VALUES (%s, %s, 'Sibling')",
        (sibling.project_id, sibling.tenant_id),
    )
    api, at_sibling = Api(live_url, place), Api(live_url, sibling)
    into_victim = Api(live_url, place)
    into_victim.base = f"{live_url}/v1/tenants/{victim.tenant_id}/projects/{victim.project_id}"
    count = "SELECT count(*) FROM deliveries"
    before = db.execute(count).fetchone()

    assert api.get(f"/{mine}").status_code == 200  # control: the caller's own delivery is found
    assert str(theirs) not in api.get().text and str(mine) in api.get().text
    missing = api.get(f"/{uuid.uuid4()}")
    assert missing.status_code == 404
    for answer in (
        api.get(f"/{theirs}"),
        at_sibling.get(f"/{mine}"),
        into_victim.get(f"/{theirs}"),
        api.resend(theirs),
        into_victim.resend(theirs),
        at_sibling.resend(mine),
        api.get("/not-a-uuid"),
    ):
        assert (answer.status_code, answer.json()) == (missing.status_code, missing.json())
    assert (
        into_victim.get().status_code == 404
        and into_victim.retry_failed("webhook", NOW.isoformat()).status_code == 404
    )
    assert at_sibling.list()["total"] == 0
    assert db.execute(count).fetchone() == before


# Retention -----------------------------------------------------------------------------------------


def purge() -> int:
    counts: list[int] = []

    async def call() -> None:
        try:
            counts.append(await delivery_log.purge_old_events())
        finally:
            await dispose_engine()

    run_in_thread(lambda: asyncio.run(call()))
    return counts[0]


def test_the_cleanup_deletes_only_old_settled_events_in_batches(
    database_url: str, db: psycopg.Connection, place: Place, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = add_integration(db, place, "webhook")
    old, recent = NOW - timedelta(days=31), NOW - timedelta(days=29)
    doomed = [plant(db, place, hook, "webhook", status=s, at=old) for s in ("delivered", "failed") * 3]
    kept = {
        "recent": plant(db, place, hook, "webhook", at=recent),
        "pending": plant(db, place, hook, "webhook", status="pending", at=old),
        "paused": plant(db, place, hook, "webhook", status="paused", at=old),
        "resent lately": plant(db, place, hook, "webhook", status="failed", at=old, updated=NOW),
    }
    mixed = plant(db, place, hook, "webhook", at=old)
    plant(db, place, hook, "webhook", status="pending", at=old, event_row=event_of(db, mixed))
    db.execute(
        "INSERT INTO delivery_attempts (id, delivery_id, attempt, started_at, duration_ms, outcome) "
        "SELECT gen_random_uuid(), id, 1, created_at, 5, 'delivered' FROM deliveries "
        "WHERE integration_id = %s",
        (hook,),
    )
    monkeypatch.setattr(delivery_log, "PURGE_BATCH", 4)  # six events: two batches

    assert purge() == 6

    left = {str(r[0]) for r in db.execute("SELECT id FROM deliveries WHERE integration_id = %s", (hook,))}
    assert left >= {str(d) for d in kept.values()} | {str(mixed)}
    assert not left & {str(d) for d in doomed}
    orphans = db.execute(
        "SELECT count(*) FROM delivery_attempts WHERE delivery_id = ANY(%s)", ([*doomed],)
    ).fetchone()
    assert orphans == (0,)  # attempts went with their deliveries
    assert purge() == 0


def test_the_cleanup_runs_hourly_on_a_queue_the_worker_listens_to(database_url: str) -> None:
    from tms_console import worker
    from tms_console.jobs.app import PURGE_TASK, create_app
    from tms_console.persistence.job_queue import MAINTENANCE_QUEUE
    from tms_console.settings import Settings

    app = create_app()
    [periodic] = [p for p in app.periodic_registry.periodic_tasks.values() if p.task.name == PURGE_TASK]
    assert periodic.cron.split()[1:] == ["*", "*", "*", "*"] and periodic.task.queue == MAINTENANCE_QUEUE
    assert MAINTENANCE_QUEUE in worker.all_queues()
    assert Settings().delivery_log_days == 30
    with pytest.raises(ValueError, match="delivery_log_days"):
        Settings(delivery_log_days=0)
