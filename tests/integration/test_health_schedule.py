"""The health check scheduler on real installs: each slot deferred once per interval at its time, under a
queueing lock, skipping integrations that delivered or were just checked; slots spread evenly."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from tests.integration.test_health_checks import fresh, installed
from tests.integration.test_hostile_delivery import PROVIDERS, Installed
from tests.utils.events import new_place
from tests.utils.health import run_service
from tms_console.persistence import integration_health
from tms_console.services import health_checks
from tms_console.services.unit_of_work import unit_of_work
from tms_console.settings import clear_settings_cache

__all__ = ["fresh", "installed"]  # the module's fixtures


def deferred_checks(db: psycopg.Connection, ids: list[uuid.UUID]) -> dict[str, datetime]:
    rows = db.execute(
        "SELECT args->>'integration_id', scheduled_at FROM procrastinate_jobs "
        "WHERE task_name = 'check_integration' AND status = 'todo' AND args->>'integration_id' = ANY(%s)",
        ([str(i) for i in ids],),
    ).fetchall()
    return dict(rows)


@pytest.fixture
def one_minute(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Checks once a minute, scheduled every second (the settings are read again before and after)."""
    monkeypatch.setenv("HEALTH_CHECK_MINUTES", "1")
    monkeypatch.setenv("HEALTH_SCHEDULE_SECONDS", "1")
    clear_settings_cache()
    yield
    monkeypatch.undo()
    clear_settings_cache()


def ticks(start: datetime, count: int) -> None:
    """The scheduler's ticks of `count` seconds from `start`, as the periodic job runs them."""

    async def run() -> None:
        for second in range(count):
            await health_checks.schedule(start + timedelta(seconds=second))

    run_service(run)


def test_the_scheduler_defers_each_slot_once_and_skips_what_delivered(
    fresh: Installed, db: psycopg.Connection, one_minute: None
) -> None:
    ids = [fresh.integrations[p] for p in PROVIDERS]
    delivered = fresh.integrations["slack"]
    db.execute(
        "INSERT INTO delivery_health (integration_id, tenant_id, project_id, integration_type, last_status) "
        "SELECT id, tenant_id, project_id, integration_type, 'delivered' "
        "FROM project_integrations WHERE id = %s",
        (delivered,),
    )
    start = datetime.now(UTC).replace(microsecond=0)
    ticks(start, 60)  # one interval
    jobs = deferred_checks(db, ids)
    assert set(jobs) == {str(i) for i in ids if i != delivered}  # each once, not the one that delivered
    assert all(start <= at < start + timedelta(seconds=60) for at in jobs.values())
    ticks(start, 60)  # the same ticks again: their slots are queued already
    assert deferred_checks(db, ids) == jobs
    locks = db.execute(
        "SELECT count(*) FROM procrastinate_jobs WHERE queueing_lock = ANY(%s) AND status = 'todo'",
        ([f"health:check:{i}" for i in ids],),
    ).fetchone()
    assert locks == (len(jobs),)
    # Checked now (as the jobs would): not due again within half an interval of the next slot.
    db.execute("DELETE FROM procrastinate_jobs WHERE queue_name = 'health' AND status = 'todo'")
    db.execute(
        "INSERT INTO integration_health (integration_id, last_checked_at) SELECT unnest(%s::uuid[]), now()",
        (ids,),
    )
    ticks(start, 20)
    assert deferred_checks(db, ids) == {}


def test_slots_spread_evenly_over_the_interval(db: psycopg.Connection) -> None:
    """600 integrations checked once a minute: every second sees about ten slots, never a herd."""
    place = new_place(db)
    projects = [uuid.uuid4() for _ in range(600)]
    with db.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO projects (id, tenant_id, name) VALUES (%s, %s, 'Spread')",
            [(p, place.tenant_id) for p in projects],
        )
        cursor.executemany(
            "INSERT INTO project_integrations (id, tenant_id, project_id, integration_type, updated_at) "
            "VALUES (gen_random_uuid(), %s, %s, 'telegram', now())",
            [(place.tenant_id, p) for p in projects],
        )
    rows = db.execute("SELECT id FROM project_integrations WHERE project_id = ANY(%s)", (projects,))
    ids = {row[0] for row in rows}
    start = datetime(2026, 1, 1, tzinfo=UTC)

    async def every_second() -> list[list[uuid.UUID]]:
        async with unit_of_work() as session:
            return [
                [
                    i
                    for i, _ in await integration_health.due_checks(
                        session,
                        types=["telegram"],
                        interval=timedelta(minutes=1),
                        start=start + timedelta(seconds=second),
                        end=start + timedelta(seconds=second + 1),
                    )
                    if i in ids
                ]
                for second in range(60)
            ]

    try:
        per_second = run_service(every_second)
    finally:
        db.execute("DELETE FROM project_integrations WHERE project_id = ANY(%s)", (projects,))
    assert sorted(i for second in per_second for i in second) == sorted(ids)  # each exactly once
    assert max(len(second) for second in per_second) <= 30  # the mean is 10
