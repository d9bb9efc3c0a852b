"""Proactive token refresh of real Teams and Google Chat installs against their sandboxes: single-flight
across 20 concurrent worker processes, `invalid_grant` at once, transient failures counted once a day with
backoff and given up on the fourth day, and the recovery after failures. Days pass on a compressed clock
(`now`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.integration.test_health_checks import installed
from tests.integration.test_hostile_delivery import Installed
from tests.utils.health import (
    bundle_of,
    expire_in,
    fault,
    health_of,
    run_service,
    sandbox_counter,
    status_of,
)
from tests.utils.live import sandbox_origin
from tms_console.services import refresh
from tms_console.services.refresh import Refresh

__all__ = ["installed"]  # the module's fixture
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def teams(installed: Installed, db: psycopg.Connection) -> uuid.UUID:
    return reset(db, installed.integrations["msteams"])


@pytest.fixture
def google(installed: Installed, db: psycopg.Connection) -> uuid.UUID:
    return reset(db, installed.integrations["google_chat"])


def reset(db: psycopg.Connection, integration: uuid.UUID) -> uuid.UUID:
    """Active, no health row, the access token due (it expires in 10 minutes)."""
    db.execute(
        "UPDATE project_integrations SET status = 'active', status_reason = NULL WHERE id = %s",
        (integration,),
    )
    db.execute("DELETE FROM integration_health WHERE integration_id = %s", (integration,))
    expire_in(db, integration, "10 minutes")
    return integration


def refresh_at(integration: uuid.UUID, now: datetime | None = None) -> Refresh:
    return run_service(lambda: refresh.refresh(integration, now=now))


# One worker process: waits at the barrier (the `go` file), then runs the refresh and prints its outcome.
WORKER = """
import asyncio, pathlib, sys, time, uuid
from tms_console.services import refresh

ready, go, integration = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), uuid.UUID(sys.argv[3])
ready.touch()
while not go.exists():
    time.sleep(0.005)
print(asyncio.run(refresh.refresh(integration)).value)
"""


def refresh_in_processes(integration: uuid.UUID, workers: int, barrier: Path) -> list[Refresh]:
    """`refresh(integration)` in `workers` OS processes of their own (this run's environment), all
    released at once when every one of them has imported the service and is waiting; their outcomes."""
    go = barrier / "go"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(barrier / f"ready-{n}"), str(go), str(integration)],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(workers)
    ]
    try:
        deadline = time.monotonic() + 180
        while len(list(barrier.glob("ready-*"))) < workers:
            assert all(child.poll() is None for child in children), "a worker died before the barrier"
            assert time.monotonic() < deadline, "the workers did not all reach the barrier"
            time.sleep(0.05)
        go.touch()
        finished = [child.communicate(timeout=120) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait(10)
    assert all(child.returncode == 0 for child in children), [err[-2000:] for _, err in finished]
    return [Refresh(out.strip().splitlines()[-1]) for out, _ in finished]


def test_twenty_concurrent_worker_processes_spend_the_refresh_token_once(
    teams: uuid.UUID, db: psycopg.Connection, tmp_path: Path
) -> None:
    old = bundle_of(db, teams)
    before = sandbox_counter("msteams", "refresh_grants")
    outcomes = refresh_in_processes(teams, 20, tmp_path)
    assert sorted(outcomes) == sorted([Refresh.REFRESHED] + [Refresh.FRESH] * 19)
    assert sandbox_counter("msteams", "refresh_grants") == before + 1
    new = bundle_of(db, teams)
    assert (
        new["access_token"] != old["access_token"] and new["refresh_token"] != old["refresh_token"]
    )  # rotated
    assert health_of(db, teams)["last_refreshed_at"] is not None
    assert refresh_at(teams) is Refresh.FRESH  # an hour's token is not due


def test_a_token_not_due_is_left_alone(teams: uuid.UUID, db: psycopg.Connection) -> None:
    expire_in(db, teams, "50 minutes")
    before = sandbox_counter("msteams", "refresh_grants")
    assert refresh_at(teams) is Refresh.FRESH
    # Refresh tokens that die unused are refreshed at least daily, even when the access token is not due.
    assert refresh_at(teams, datetime.now(UTC) + timedelta(days=1, minutes=1)) is Refresh.REFRESHED
    assert sandbox_counter("msteams", "refresh_grants") == before + 1


def test_transient_failures_count_once_a_day_then_recover(google: uuid.UUID, db: psycopg.Connection) -> None:
    t0 = datetime.now(UTC)
    before = sandbox_counter("google_chat", "refresh_grants")
    with fault("google_chat", mode="status", status=503, target="token"):
        assert refresh_at(google, t0) is Refresh.FAILED
        health = health_of(db, google)
        assert (health["refresh_attempts"], health["refresh_failures"]) == (1, 1)
        assert health["retry_refresh_at"] == t0 + timedelta(minutes=1)  # the backoff's first step
        assert status_of(db, google) == ("active", None)  # the token still works

        assert refresh_at(google, t0 + timedelta(minutes=2)) is Refresh.FAILED
        health = health_of(db, google)
        assert (health["refresh_attempts"], health["refresh_failures"]) == (2, 1)  # the same day
        assert health["retry_refresh_at"] == t0 + timedelta(minutes=7)

        assert refresh_at(google, t0 + timedelta(days=1)) is Refresh.FAILED
        assert health_of(db, google)["refresh_failures"] == 2
        assert status_of(db, google) == ("degraded", "refresh_failing")  # the token has expired by then
    assert sandbox_counter("google_chat", "refresh_grants") == before + 3  # one call per attempt

    assert refresh_at(google, t0 + timedelta(days=1, hours=1)) is Refresh.REFRESHED
    assert status_of(db, google) == ("active", None)
    health = health_of(db, google)
    assert (health["refresh_attempts"], health["refresh_failures"], health["retry_refresh_at"]) == (
        0,
        0,
        None,
    )
    changes = db.execute(
        "SELECT reason FROM integration_events WHERE integration_id = %s AND action = 'status_changed' "
        "ORDER BY created_at",
        (google,),
    ).fetchall()
    assert [reason for (reason,) in changes][-2:] == ["refresh_failing", "recovered"]


def test_the_fourth_failing_day_gives_up(google: uuid.UUID, db: psycopg.Connection) -> None:
    t0 = datetime.now(UTC)
    with fault("google_chat", mode="status", status=502, target="token"):
        for day in range(3):
            assert refresh_at(google, t0 + timedelta(days=day)) is Refresh.FAILED
            assert status_of(db, google)[0] != "needs_reconnect"
        assert health_of(db, google)["refresh_failures"] == 3
        assert refresh_at(google, t0 + timedelta(days=3, hours=1)) is Refresh.FAILED
    assert health_of(db, google)["refresh_failures"] == 4
    assert health_of(db, google)["first_refresh_failure_at"] == t0
    assert status_of(db, google) == ("needs_reconnect", "refresh_failed")


def test_the_scheduler_queues_a_due_refresh_once_and_respects_the_backoff(
    google: uuid.UUID, db: psycopg.Connection
) -> None:
    from tms_console.services import health_checks

    db.execute("DELETE FROM procrastinate_jobs WHERE queue_name = 'health' AND status = 'todo'")
    expire_in(db, google, "15 minutes 30 seconds")  # due in 30 s: inside the minute's tick
    start = datetime.now(UTC)
    run_service(lambda: health_checks.schedule(start))
    run_service(lambda: health_checks.schedule(start))
    jobs = db.execute(
        "SELECT scheduled_at, queueing_lock FROM procrastinate_jobs WHERE task_name = 'refresh_token' "
        "AND status = 'todo' AND args->>'integration_id' = %s",
        (str(google),),
    ).fetchall()
    assert len(jobs) == 1 and jobs[0][1] == f"health:refresh:{google}"
    assert start < jobs[0][0] < start + timedelta(minutes=2)

    db.execute("DELETE FROM procrastinate_jobs WHERE queue_name = 'health' AND status = 'todo'")
    db.execute(
        "INSERT INTO integration_health (integration_id, refresh_attempts, retry_refresh_at) "
        "VALUES (%s, 3, now() + interval '10 minutes')",
        (google,),
    )
    run_service(lambda: health_checks.schedule(start))
    waiting = db.execute(
        "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'refresh_token' AND status = 'todo' "
        "AND args->>'integration_id' = %s",
        (str(google),),
    ).fetchone()
    assert waiting == (0,)


def test_invalid_grant_needs_a_reconnect_at_once(google: uuid.UUID, db: psycopg.Connection) -> None:
    """The Google account's owner revoked our access: the refresh token is dead (last: the module's Google
    install stays revoked)."""
    token = bundle_of(db, google)["refresh_token"]
    revoked = httpx.post(
        f"{sandbox_origin()}/sandbox/google_chat/oauth2/revoke", data={"token": token}, timeout=10
    )
    assert revoked.status_code == 200, revoked.text
    assert refresh_at(google) is Refresh.REFUSED
    assert status_of(db, google) == ("needs_reconnect", "invalid_grant")
    assert refresh_at(google) is Refresh.SKIPPED  # waits for the agent's reconnect
