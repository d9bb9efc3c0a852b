"""Accepting an event is one atomic step: kill -9 inside its transaction, and nothing of it remains.

The console API runs as a subprocess with the test hook INTAKE_COMMIT_PAUSE_SECONDS, which holds the
intake's transaction open after the event, its deliveries and their jobs were written and before the
commit. The process is killed there with SIGKILL; then nothing of the event is stored, and a retry of the
same event id (the TMS retries when it got no answer) is accepted once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg

from tests.utils.events import Place, add_integration, new_place, ticket_event
from tests.utils.live import free_port

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "test-artifacts"


def _wait_for(condition: object, what: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen:\n" + log.read_text()[-3000:])
        time.sleep(0.1)


@contextmanager
def process(argv: list[str], log: Path, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """A child in its own process group, with this test run's environment plus `env`; stopped after."""
    LOGS.mkdir(exist_ok=True)
    with log.open("w") as out:
        child = subprocess.Popen(
            argv, cwd=ROOT, env=os.environ | env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield child
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait(10)


@contextmanager
def paused_console(log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "uvicorn", "--factory", "tms_console.api:create_api", "--port", str(port)]
    with process(argv, log, INTAKE_COMMIT_PAUSE_SECONDS="120", PUBLIC_BASE_URL=url) as child:

        def healthy() -> bool:
            assert child.poll() is None, log.read_text()[-3000:]
            try:
                return httpx.get(url + "/api/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        _wait_for(healthy, "console start", log)
        yield url, child


def kept(db: psycopg.Connection, place: Place, event_id: str) -> tuple[int, int, int]:
    """Events, deliveries and queued jobs stored for `event_id`."""
    row = db.execute(
        "SELECT count(DISTINCT e.id), count(DISTINCT d.id), count(DISTINCT j.id) FROM ticket_events e "
        "LEFT JOIN deliveries d ON d.ticket_event_id = e.id "
        "LEFT JOIN procrastinate_jobs j ON j.args->>'delivery_id' = d.id::text "
        "WHERE e.tenant_id = %s AND e.event_id = %s",
        (place.tenant_id, event_id),
    ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


def all_jobs(db: psycopg.Connection) -> int:
    """Every job in the queue: a job deferred outside the intake's transaction would outlive the kill."""
    row = db.execute("SELECT count(*) FROM procrastinate_jobs").fetchone()
    assert row is not None
    return int(row[0])


def open_intake_transactions(db: psycopg.Connection) -> int:
    row = db.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND state = 'idle in transaction' AND query ILIKE '%procrastinate_defer_jobs%'"
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_kill_9_between_storing_and_commit_loses_and_duplicates_nothing(
    live_url: str, db: psycopg.Connection
) -> None:
    place = new_place(db)
    for kind in ("slack", "discord", "webhook"):
        add_integration(db, place, kind)
    body = ticket_event("ticket.created")
    headers = {"Authorization": f"Bearer {place.token()}"}
    log = LOGS / "intake-kill.log"
    jobs_before = all_jobs(db)
    with paused_console(log) as (url, child):
        answers: list[object] = []

        def send() -> None:
            try:
                answers.append(httpx.post(url + place.path, json=body, headers=headers, timeout=150))
            except httpx.HTTPError as exc:
                answers.append(exc)

        sender = threading.Thread(target=send)
        sender.start()
        # Inside the transaction: the rows and jobs are written (the defer was its last statement)...
        _wait_for(lambda: "intake_paused_before_commit" in log.read_text(), "the pause", log)
        _wait_for(lambda: open_intake_transactions(db) == 1, "the open transaction", log)
        assert kept(db, place, body["id"]) == (0, 0, 0)  # ...and invisible until the commit
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(10)
        sender.join(30)
    assert len(answers) == 1 and isinstance(answers[0], httpx.HTTPError)  # the TMS never got a 202
    _wait_for(lambda: open_intake_transactions(db) == 0, "the rollback", log)
    assert kept(db, place, body["id"]) == (0, 0, 0) and all_jobs(db) == jobs_before

    with httpx.Client(base_url=live_url, headers=headers, timeout=20) as client:
        for _ in range(2):  # the TMS's retry, then a duplicate of it
            answer = client.post(place.path, json=body)
            assert (answer.status_code, answer.json()) == (202, {"event_id": body["id"], "deliveries": 3})
    assert kept(db, place, body["id"]) == (1, 3, 3) and all_jobs(db) == jobs_before + 3
