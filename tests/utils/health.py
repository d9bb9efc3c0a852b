"""Health check and refresh tests' helpers: the services run in this process (as a worker runs them), an
installed integration's secrets opened as the console would, and sandbox faults switched on for a block."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
import psycopg

from tests.utils.live import run_in_thread, sandbox_origin
from tms_console.domain.values import Sealed
from tms_console.oauth.http import close_http_client, get_http_client
from tms_console.persistence.db import dispose_engine
from tms_console.persistence.redis import close_redis, get_redis
from tms_console.security.keyring import configured_keyring, row_aad

T = TypeVar("T")


def run_service(call: Callable[[], Awaitable[T]]) -> T:
    """`call()` on an event loop of its own, as a worker would run it; its result.

    The database engine, the Redis client and the provider HTTP client are cached per process and bound to
    the loop that made them (the in-process API server's, when it made them first): this loop starts and
    ends with its own.
    """
    results: list[T] = []

    async def main() -> None:
        get_redis.cache_clear()
        get_http_client.cache_clear()
        try:
            results.append(await call())
        finally:
            await dispose_engine()
            await close_redis()
            await close_http_client()

    run_in_thread(lambda: asyncio.run(main()))
    return results[0]


def bundle_of(db: psycopg.Connection, integration_id: uuid.UUID) -> dict[str, Any]:
    """The integration's decrypted secrets (what the sandbox issued), for a test acting as the provider."""
    row = db.execute(
        "SELECT p.tenant_id, p.project_id, p.integration_type, c.key_id, c.nonce, c.ciphertext "
        "FROM project_integrations p JOIN integration_credentials c ON c.integration_id = p.id "
        "WHERE p.id = %s",
        (integration_id,),
    ).fetchone()
    assert row is not None
    tenant, project, kind, key_id, nonce, ciphertext = row
    aad = row_aad(tenant_id=tenant, project_id=project, integration_type=kind, row_id=integration_id)
    return configured_keyring().open(Sealed(key_id, bytes(nonce), bytes(ciphertext)), aad=aad)


@contextmanager
def fault(provider: str, **settings: Any) -> Iterator[None]:
    """A sandbox fault (sandbox/faults.py) on `provider` for the block."""
    url = f"{sandbox_origin()}/sandbox/{provider}/_fault"
    assert httpx.put(url, json=settings, timeout=10).status_code == 200
    try:
        yield
    finally:
        httpx.delete(url, timeout=10)


def sandbox_counter(provider: str, counter: str) -> int:
    """One of the sandbox's counters for `provider` (`token_exchanges`, `message_attempts`, ...)."""
    return int(httpx.get(f"{sandbox_origin()}/sandbox/{provider}/_inspect", timeout=10).json()[counter])


def status_of(db: psycopg.Connection, integration_id: uuid.UUID) -> tuple[str, str | None]:
    row = db.execute(
        "SELECT status, status_reason FROM project_integrations WHERE id = %s", (integration_id,)
    ).fetchone()
    assert row is not None
    return row[0], row[1]


def health_of(db: psycopg.Connection, integration_id: uuid.UUID) -> dict[str, Any]:
    """The integration's integration_health row as a dict ({} when it has none)."""
    cursor = db.execute("SELECT * FROM integration_health WHERE integration_id = %s", (integration_id,))
    row = cursor.fetchone()
    names = [column.name for column in cursor.description or []]
    return dict(zip(names, row, strict=True)) if row else {}


def expire_in(db: psycopg.Connection, integration_id: uuid.UUID, interval: str) -> None:
    """Make the access token expire `interval` from now (Postgres interval text; negative: expired)."""
    db.execute(
        "UPDATE integration_credentials SET expires_at = now() + %s::interval WHERE integration_id = %s",
        (interval, integration_id),
    )
