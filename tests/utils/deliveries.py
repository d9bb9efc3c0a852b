"""Delivery tests' helpers: a webhook integration with real sealed credentials, the worker as a real
process, and waiting for deliveries to settle."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg.types.json import Jsonb

from tests.utils.events import Place, add_integration
from tests.utils.live import run_in_thread
from tms_console.domain.messages import Outcome
from tms_console.persistence.db import dispose_engine
from tms_console.security import signing
from tms_console.security.keyring import configured_keyring, row_aad
from tms_console.services import delivery

# The schedule compressed a thousandfold (5 s -> 5 ms, 5 min -> 0.3 s, 30 min -> 1.8 s, 2 h -> 7.2 s).
WORKER_ENV = {"RETRY_SCHEDULE_SCALE": "0.001", "WORKER_STALLED_SECONDS": "3"}
SETTLED = ("delivered", "failed", "paused")


def seal_webhook(db: psycopg.Connection, place: Place, row_id: uuid.UUID, url: str, secret: str) -> None:
    """Store (or replace) the webhook's encrypted bundle, as connecting it would."""
    aad = row_aad(
        tenant_id=place.tenant_id, project_id=place.project_id, integration_type="webhook", row_id=row_id
    )
    sealed = configured_keyring().seal({"url": url, "signing_secret": secret, "template": ""}, aad=aad)
    db.execute(
        "INSERT INTO integration_credentials (integration_id, key_id, nonce, ciphertext) "
        "VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (integration_id) DO UPDATE SET key_id = excluded.key_id, nonce = excluded.nonce, "
        "ciphertext = excluded.ciphertext",
        (row_id, sealed.key_id, sealed.nonce, sealed.ciphertext),
    )


def add_webhook(db: psycopg.Connection, place: Place, url: str) -> tuple[uuid.UUID, str]:
    """A connected webhook integration posting to `url`; its row id and signing secret."""
    row_id = add_integration(db, place, "webhook")
    secret = signing.new_signing_secret()
    seal_webhook(db, place, row_id, url, secret)
    return row_id, secret


@contextmanager
def running_worker(log: Path, *queues: str, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m tms_console.worker` (on `queues`, or all of them) with this process's environment;
    SIGTERM (then wait) at the end."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tms_console.worker", *queues],
            env=os.environ | WORKER_ENV | env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def wait_for(
    db: psycopg.Connection, query: str, params: tuple[Any, ...], done: Any, *, timeout: float = 30
) -> list[tuple[Any, ...]]:
    """Poll `query` until `done(rows)` holds; the rows (fails the test on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = db.execute(query, params).fetchall()
        if done(rows):
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting; last rows: {rows}")
        time.sleep(0.1)


def received(sandbox_url: str, endpoint: str) -> list[dict[str, Any]]:
    """What the sandbox webhook receiver recorded for `endpoint`, oldest first."""
    snapshot = httpx.get(f"{sandbox_url}/sandbox/webhook/_inspect", timeout=10).json()
    return [item for item in snapshot["deliveries"] if item["endpoint"] == endpoint]


def add_delivery(
    db: psycopg.Connection,
    place: Place,
    integration: uuid.UUID,
    event: dict[str, Any],
    *,
    attempts: int = 0,
    kind: str = "webhook",
) -> uuid.UUID:
    """An event and its delivery as the intake stores them, but with no job: a test runs it itself."""
    row = db.execute(
        "INSERT INTO ticket_events (id, tenant_id, project_id, event_id, type, payload, answer) "
        "VALUES (%s, %s, %s, %s, %s, %s, '{}') RETURNING id",
        (uuid.uuid4(), place.tenant_id, place.project_id, event["id"], event["type"], Jsonb(event)),
    ).fetchone()
    assert row is not None
    delivery_id = uuid.uuid4()
    db.execute(
        "INSERT INTO deliveries (id, ticket_event_id, tenant_id, project_id, integration_id, "
        "integration_type, attempts) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (delivery_id, row[0], place.tenant_id, place.project_id, integration, kind, attempts),
    )
    return delivery_id


def run_deliver(delivery_id: uuid.UUID, attempt: int = 1) -> Outcome | None:
    """The `deliver` job's body run in this process, as a worker would (after a crash, or for a test)."""
    outcomes: list[Outcome | None] = []

    async def call() -> None:
        try:
            outcomes.append(await delivery.deliver(str(delivery_id), attempt))
        finally:
            await dispose_engine()

    run_in_thread(lambda: asyncio.run(call()))
    return outcomes[0]
