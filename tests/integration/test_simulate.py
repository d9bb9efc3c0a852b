"""Dev-only simulated ticket events: `python -m tms_console.cli emit-event` as a real subprocess on the test
database (answer, exit codes, production refusal, a worker delivering it to the sandbox), and the service
behind the console's "Simulate ticket event" control (the caller's own tenant only)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from typing import Any

import psycopg
import pytest

from tests.utils.artifacts import ARTIFACTS
from tests.utils.deliveries import SETTLED, add_webhook, received, running_worker, wait_for
from tests.utils.events import Place, add_integration, new_place
from tests.utils.live import production_env, run_in_thread
from tms_console.domain.errors import NotFound
from tms_console.persistence.db import dispose_engine
from tms_console.security.identity import Identity
from tms_console.services import simulate
from tms_console.services.intake import Accepted


@pytest.fixture
def place(db: psycopg.Connection) -> Place:
    return new_place(db)


def emit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tms_console.cli", "emit-event", *args],
        env=env or os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def events_of(db: psycopg.Connection, place: Place) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT e.event_id, e.type, e.payload, count(d.id) FROM ticket_events e "
        "LEFT JOIN deliveries d ON d.ticket_event_id = e.id WHERE e.project_id = %s "
        "GROUP BY e.id ORDER BY e.received_at, e.event_id",
        (place.project_id,),
    ).fetchall()


def test_emit_event_accepts_a_simulated_event_and_prints_the_answer(
    database_url: str, db: psycopg.Connection, place: Place
) -> None:
    add_integration(db, place, "webhook")
    add_integration(db, place, "slack", events=["ticket.resolved"])
    created = emit("--project", str(place.project_id))
    assert created.returncode == 0, created.stderr
    answer = json.loads(created.stdout)
    assert answer["deliveries"] == 1 and answer["event_id"].startswith("sim_")  # Slack wants resolutions only
    resolved = emit("--project", str(place.project_id), "--type", "ticket.resolved")
    assert resolved.returncode == 0 and json.loads(resolved.stdout)["deliveries"] == 2
    stored = events_of(db, place)
    assert [(e[0], e[1], e[3]) for e in stored] == [
        (answer["event_id"], "ticket.created", 1),
        (json.loads(resolved.stdout)["event_id"], "ticket.resolved", 2),
    ]
    assert stored[0][2]["ticket"]["subject"].startswith("[Simulated] ")
    jobs = db.execute(
        "SELECT count(*) FROM procrastinate_jobs j JOIN deliveries d ON j.args->>'delivery_id' = d.id::text "
        "WHERE d.project_id = %s",
        (place.project_id,),
    ).fetchone()
    assert jobs == (3,)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--project", str(uuid.UUID(int=7))], "emit-event refused: no project with id"),
        (["--project", "not-a-uuid"], "emit-event refused: no project with id 'not-a-uuid'"),
        (
            ["--project", str(uuid.UUID(int=7)), "--type", "ticket.exploded"],
            "invalid choice: 'ticket.exploded'",
        ),
        ([], "the following arguments are required: --project"),
    ],
)
def test_emit_event_refuses_what_it_cannot_do_with_one_line(
    database_url: str, args: list[str], words: str
) -> None:
    refused = emit(*args)
    assert refused.returncode == 2 and refused.stdout == ""
    assert words in refused.stderr and refused.stderr.strip().splitlines()[-1].count("\n") == 0


def test_emit_event_is_refused_in_production(database_url: str, db: psycopg.Connection, place: Place) -> None:
    add_integration(db, place, "webhook")
    refused = emit("--project", str(place.project_id), env=production_env(DATABASE_URL=database_url))
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr == (
        "emit-event refused: simulated events are for development and test only (TMS_ENV=prod)\n"
    )
    assert events_of(db, place) == []
    assert emit("--project", str(place.project_id)).returncode == 0  # control: the same call outside prod


def test_emit_event_says_when_the_database_is_down(database_url: str) -> None:
    down = os.environ | {"DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"}
    failed = emit("--project", str(uuid.uuid4()), env=down)
    assert failed.returncode == 1 and "cannot reach the database" in failed.stderr


def test_a_worker_delivers_the_emitted_event_to_the_sandbox(
    live_url: str, sandbox_url: str, db: psycopg.Connection, place: Place
) -> None:
    endpoint = "emit-" + uuid.uuid4().hex[:8]
    integration, _ = add_webhook(db, place, f"{sandbox_url}/sandbox/webhook/receive/{endpoint}")
    emitted = emit("--project", str(place.project_id), "--type", "ticket.commented")
    assert emitted.returncode == 0 and json.loads(emitted.stdout)["deliveries"] == 1
    with running_worker(ARTIFACTS / "emit-event-worker.log"):
        [(status,)] = wait_for(
            db,
            "SELECT status FROM deliveries WHERE integration_id = %s",
            (integration,),
            lambda rows: len(rows) == 1 and rows[0][0] in SETTLED,
        )
    assert status == "delivered"
    [delivery] = received(sandbox_url, endpoint)
    body = json.loads(delivery["body"])
    assert body["id"] == json.loads(emitted.stdout)["event_id"] and body["type"] == "ticket.commented"


def simulate_as(identity: Identity, project_id: object) -> Accepted:
    answers: list[Accepted] = []

    async def call() -> None:
        try:
            answers.append(
                await simulate.simulate_event(
                    identity, project_id=str(project_id), event_type="ticket.assigned"
                )
            )
        finally:
            await dispose_engine()

    run_in_thread(lambda: asyncio.run(call()))
    return answers[0]


def test_the_console_simulates_for_the_caller_s_own_tenant_only(
    database_url: str, db: psycopg.Connection, place: Place
) -> None:
    add_integration(db, place, "webhook")
    stranger = Identity("gary", "Gary", uuid.uuid4(), "admin")
    with pytest.raises(NotFound):
        simulate_as(stranger, place.project_id)
    assert events_of(db, place) == []
    accepted = simulate_as(Identity("una", "Una", place.tenant_id, "agent"), place.project_id)
    assert accepted.deliveries == 1 and [e[1] for e in events_of(db, place)] == ["ticket.assigned"]


def test_the_dev_launcher_runs_emit_event_with_the_dev_environment(
    database_url: str, db: psycopg.Connection, place: Place
) -> None:
    """`python -m devtools.server emit-event` from a shell with no console settings (only the database)."""
    add_integration(db, place, "webhook")
    bare = {k: v for k, v in production_env().items() if k not in ("JWT_SECRET", "TOKEN_ENCRYPTION_KEYS")}
    launched = subprocess.run(
        [sys.executable, "-m", "devtools.server", "emit-event", "--project", str(place.project_id)],
        env=bare | {"DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert launched.returncode == 0, launched.stderr
    assert json.loads(launched.stdout)["deliveries"] == 1 and len(events_of(db, place)) == 1
