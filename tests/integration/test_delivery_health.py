"""Delivery health: each integration's last delivery and whether it is failing, kept by every outcome.

Over real Postgres and HTTP: the deliver job's body in this process (deterministic steps), then the
worker process against the sandbox's webhook receiver; the card's last delivery in the REST list; the
admin overview's failing filter, mark and count; uninstall leaving nothing stale; no query per row.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psycopg
import pytest
from sqlalchemy import event

from tests.integration.test_delivery_outcomes import receiver, reconnect
from tests.utils.deliveries import (
    SETTLED,
    add_delivery,
    add_webhook,
    run_deliver,
    seal_webhook,
    wait_for,
)
from tests.utils.events import Place, add_integration, new_place, ticket_event
from tests.utils.live import run_in_thread
from tms_console.domain.messages import Outcome
from tms_console.persistence import delivery_health
from tms_console.persistence.db import dispose_engine, get_engine
from tms_console.security.identity import Identity
from tms_console.services import installations, overview
from tms_console.services.unit_of_work import unit_of_work

T = TypeVar("T")
HEALTH = (
    "SELECT last_status, last_reason, failing, failing_since, last_delivery_at "
    "FROM delivery_health WHERE integration_id = %s"
)


def health(db: psycopg.Connection, integration: uuid.UUID) -> tuple[Any, ...] | None:
    row = db.execute(HEALTH, (integration,)).fetchone()
    return tuple(row) if row else None


def first_attempt_at(db: psycopg.Connection, delivery_id: uuid.UUID) -> datetime:
    row = db.execute(
        "SELECT started_at FROM delivery_attempts WHERE delivery_id = %s AND attempt = 1", (delivery_id,)
    ).fetchone()
    assert row is not None
    return row[0]


def run(call: Callable[[], Awaitable[T]]) -> T:
    """A service call on an event loop of its own, as the console's handlers make it."""
    results: list[T] = []

    async def main() -> None:
        try:
            results.append(await call())
        finally:
            await dispose_engine()

    run_in_thread(lambda: asyncio.run(main()))
    return results[0]


def api(live_url: str, place: Place, path: str, role: str = "admin", **params: Any) -> dict[str, Any]:
    answer = httpx.get(
        f"{live_url}/v1/tenants/{place.tenant_id}{path}",
        params=params,
        headers={"Authorization": f"Bearer {place.token(role)}"},
        timeout=20,
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def card(live_url: str, place: Place, kind: str = "webhook") -> dict[str, Any]:
    body = api(live_url, place, f"/projects/{place.project_id}/integrations", role="agent")
    [found] = [item for item in body["integrations"] if item["type"] == kind]
    return found


def test_a_failure_marks_the_integration_failing_until_the_next_delivery_arrives(
    live_url: str, sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    integration, secret = add_webhook(db, place, receiver(sandbox_url, status=500))
    assert card(live_url, place)["last_delivery"] is None  # nothing tried yet
    delivery_id = add_delivery(db, place, integration, ticket_event())

    assert run_deliver(delivery_id) is Outcome.RETRY
    started = first_attempt_at(db, delivery_id)
    assert health(db, integration) == ("retrying", "server_error", True, started, started)
    shown = card(live_url, place)["last_delivery"]
    assert shown["failing"] is True and shown["status"] == "retrying" and shown["reason"] == "server_error"
    assert (
        shown["summary"] == f"Failing since {started.astimezone(UTC):%H:%M} UTC (retrying): "
        "The receiving server had an error (5xx). It is tried again later."
    )

    assert run_deliver(delivery_id, 2) is Outcome.RETRY  # still failing: since the first failure
    [status, _, failing, since, last_at] = health(db, integration) or ()
    assert (status, failing, since) == ("retrying", True, started) and last_at > started

    seal_webhook(db, place, integration, receiver(sandbox_url), secret)  # the endpoint recovers
    assert run_deliver(delivery_id, 3) is Outcome.DELIVERED
    assert health(db, integration)[:4] == ("delivered", None, False, None)  # type: ignore[index]
    shown = card(live_url, place)["last_delivery"]
    assert (shown["failing"], shown["failing_since"], shown["summary"]) == (False, "", "Delivered just now")


def test_a_delivery_given_up_or_refused_is_failing(
    live_url: str, sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    integration, _ = add_webhook(db, place, receiver(sandbox_url, status=400))
    assert run_deliver(add_delivery(db, place, integration, ticket_event())) is Outcome.REJECTED
    assert health(db, integration)[:3] == ("failed", "rejected", True)  # type: ignore[index]
    assert card(live_url, place)["last_delivery"]["summary"].endswith(
        "(gave up): The receiver refused the message as sent (4xx). Retrying would not help."
    )


def test_a_paused_integration_stays_failing_after_the_reconnect_until_a_delivery_arrives(
    sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    integration, _ = add_webhook(db, place, receiver(sandbox_url))
    db.execute(
        "UPDATE project_integrations SET status = 'needs_reconnect', status_reason = 'invalid_auth' "
        "WHERE id = %s",
        (integration,),
    )
    delivery_id = add_delivery(db, place, integration, ticket_event())

    assert run_deliver(delivery_id) is None  # stopped without an attempt: paused
    [status, reason, failing, since, _] = health(db, integration) or ()
    assert (status, reason, failing) == ("paused", "invalid_auth", True) and since is not None

    reconnect(place, receiver(sandbox_url))  # resumes the paused delivery, in the same transaction
    assert health(db, integration)[:4] == ("retrying", "invalid_auth", True, since)  # type: ignore[index]

    assert run_deliver(delivery_id) is Outcome.DELIVERED
    assert health(db, integration)[:3] == ("delivered", None, False)  # type: ignore[index]


def test_an_older_outcome_never_replaces_a_newer_one(db: psycopg.Connection, place: Place) -> None:
    integration = add_integration(db, place, "webhook")
    now = datetime.now(UTC)

    async def record(at: datetime, status: str, reason: str | None = None) -> None:
        async with unit_of_work() as session:
            await delivery_health.record(
                session, integration_id=integration, at=at, status=status, reason=reason
            )

    run(lambda: record(now, "delivered"))
    run(lambda: record(now - timedelta(seconds=5), "failed", "server_error"))  # settled late
    assert health(db, integration)[:3] == ("delivered", None, False)  # type: ignore[index]

    run(lambda: record(now + timedelta(seconds=1), "retrying", "timeout"))
    run(lambda: record(now + timedelta(seconds=2), "failed", "server_error"))
    assert health(db, integration)[:4] == (  # type: ignore[index]
        "failed", "server_error", True, now + timedelta(seconds=1),
    )  # fmt: skip

    db.execute("DELETE FROM project_integrations WHERE id = %s", (integration,))
    db.execute("DELETE FROM delivery_health WHERE integration_id = %s", (integration,))
    run(lambda: record(now + timedelta(seconds=3), "failed", "server_error"))  # settled after an uninstall
    assert health(db, integration) is None


@pytest.fixture
def tenant(db: psycopg.Connection, sandbox_url: str) -> dict[str, Any]:
    """Three projects of a tenant of their own: a failing webhook, a delivered one, a Slack never tried."""
    place = new_place(db)
    projects = [place.project_id, uuid.uuid4(), uuid.uuid4()]
    for number, project in enumerate(projects[1:], start=2):
        db.execute(
            "INSERT INTO projects (id, tenant_id, name) VALUES (%s, %s, %s)",
            (project, place.tenant_id, f"Intake {number}"),
        )
    failing, _ = add_webhook(db, place, receiver(sandbox_url, status=500))
    assert run_deliver(add_delivery(db, place, failing, ticket_event())) is Outcome.RETRY
    second = Place(place.tenant_id, projects[1])
    working, _ = add_webhook(db, second, receiver(sandbox_url))
    assert run_deliver(add_delivery(db, second, working, ticket_event())) is Outcome.DELIVERED
    add_integration(db, Place(place.tenant_id, projects[2]), "slack")
    return {"place": place, "projects": [str(p) for p in projects], "failing": failing}


def test_the_overview_marks_counts_and_filters_failing_integrations(
    live_url: str, tenant: dict[str, Any]
) -> None:
    place, projects = tenant["place"], tenant["projects"]
    body = api(live_url, place, "/integrations/overview")
    assert body["failing"] == 1
    cells = {p["id"]: p["integrations"] for p in body["projects"]}
    assert cells[projects[0]]["webhook"]["failing"] is True
    assert cells[projects[0]]["webhook"]["failing_since"].endswith("UTC")
    assert (
        cells[projects[1]]["webhook"]["failing"] is False
        and cells[projects[1]]["webhook"]["failing_since"] == ""
    )
    assert not any(cell["failing"] for cell in cells[projects[2]].values())

    def names(**params: Any) -> list[str]:
        return [p["id"] for p in api(live_url, place, "/integrations/overview", **params)["projects"]]

    assert names(failing="true") == [projects[0]]
    assert names(failing="true", provider="webhook") == [projects[0]]
    assert names(failing="true", provider="slack") == []  # that provider's integration is not failing
    assert names(failing="true", q="Intake 2") == []
    assert names(failing="true", status="connected") == [projects[0]]
    assert names(failing="true", needs_attention="true") == []
    assert len(names(failing="false")) == 3


def test_uninstalling_a_failing_integration_removes_its_mark(
    live_url: str, db: psycopg.Connection, tenant: dict[str, Any]
) -> None:
    place, failing = tenant["place"], tenant["failing"]
    assert health(db, failing) is not None and api(live_url, place, "/integrations/overview")["failing"] == 1

    answer = httpx.delete(
        f"{live_url}/v1/tenants/{place.tenant_id}/projects/{place.project_id}/integrations/webhook",
        headers={"Authorization": f"Bearer {place.token('agent')}"},
        timeout=20,
    )

    assert answer.status_code == 204, answer.text
    assert health(db, failing) is None
    body = api(live_url, place, "/integrations/overview")
    assert body["failing"] == 0 and body["matching"] == 3
    assert api(live_url, place, "/integrations/overview", failing="true")["projects"] == []
    # Installed again, it starts with no last delivery (the row is a new one).
    add_webhook(db, place, "https://example.invalid/hook")
    assert card(live_url, place)["last_delivery"] is None


def statements(call: Callable[[], Awaitable[object]]) -> int:
    """How many SQL statements `call` runs (counted on the engine, in its own event loop)."""
    count = 0

    def counted(*args: object) -> None:
        nonlocal count
        count += 1

    async def main() -> int:
        engine = get_engine().sync_engine
        event.listen(engine, "before_cursor_execute", counted)
        try:
            await call()
        finally:
            event.remove(engine, "before_cursor_execute", counted)
        return count

    return run(main)


def test_cards_and_overview_read_health_in_a_fixed_number_of_queries(
    sandbox_url: str, db: psycopg.Connection, tenant: dict[str, Any]
) -> None:
    place: Place = tenant["place"]
    admin = Identity("admin", "Admin", place.tenant_id, "admin")
    one_project = statements(lambda: overview.overview(admin, overview.Query(page_size=1)))
    three_projects = statements(lambda: overview.overview(admin, overview.Query(page_size=3)))
    assert one_project == three_projects  # no query per project or per cell
    page = run(lambda: overview.overview(admin, overview.Query(page_size=3)))
    assert sum(cell.failing for p in page.projects for cell in p.cells.values()) == 1  # health was read

    agent = Identity("agent", "Agent", place.tenant_id, "agent")
    cards = lambda: installations.list_integrations(agent, str(place.project_id))  # noqa: E731
    with_one = statements(cards)
    for kind in ("slack", "discord"):  # more installed cards, each with a last delivery
        row = add_integration(db, place, kind)
        db.execute(
            "INSERT INTO delivery_health (integration_id, tenant_id, project_id, integration_type, "
            "last_status, failing, failing_since) VALUES (%s, %s, %s, %s, 'failed', true, now())",
            (row, place.tenant_id, place.project_id, kind),
        )
    assert statements(cards) == with_one
    views = run(cards)
    assert sum(1 for view in views if view.last_delivery and view.last_delivery.failing) == 3


def test_the_worker_flips_the_health_to_failing_and_back(
    worker: Path, live_url: str, sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    integration, secret = add_webhook(db, place, receiver(sandbox_url, status=500))
    answer = httpx.post(
        live_url + place.path,
        json=ticket_event(),
        headers={"Authorization": f"Bearer {place.token()}"},
        timeout=20,
    )
    assert answer.status_code == 202, answer.text

    wait_for(db, HEALTH, (integration,), lambda rows: bool(rows) and rows[0][2] is True)
    assert card(live_url, place)["last_delivery"]["failing"] is True
    assert api(live_url, place, "/integrations/overview", failing="true")["projects"][0]["id"] == str(
        place.project_id
    )

    seal_webhook(db, place, integration, receiver(sandbox_url), secret)  # the endpoint recovers
    wait_for(
        db,
        "SELECT status FROM deliveries WHERE integration_id = %s",
        (integration,),
        lambda rows: bool(rows) and rows[0][0] in SETTLED,
    )
    assert health(db, integration)[:3] == ("delivered", None, False)  # type: ignore[index]
    assert card(live_url, place)["last_delivery"]["summary"] == "Delivered just now"
    assert api(live_url, place, "/integrations/overview", failing="true")["projects"] == []
