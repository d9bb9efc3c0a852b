"""No pooled connection of the web process is pinged before use: one the server dropped (a restart, a
terminated backend) is found at checkout without a round trip and replaced, in the one-statement pool
(`db.statement()`) and in the SQLAlchemy pool alike; a connection is kept between statements. Over real
Postgres, the services' own way in (`one_statement`, `unit_of_work`). A checkout that finds no free
connection in time is an outage, as a dead database is."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AsyncExitStack

import psycopg
import pytest
from sqlalchemy import text

from tests.utils.health import run_service
from tms_console.domain.errors import Unavailable
from tms_console.domain.reasons import Reason
from tms_console.persistence import db as database
from tms_console.services.unit_of_work import one_statement, unit_of_work

SMALL = 6


@pytest.fixture
def small_pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A statement pool of SMALL connections that gives up on a checkout after half a second."""
    monkeypatch.setattr(database, "POOL_TIMEOUT", 0.5)
    database.use_pool(database.PoolSize(size=SMALL))
    yield
    database.use_pool(database.PoolSize())


def terminate(db: psycopg.Connection, pid: int) -> None:
    assert db.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
    while db.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
        pass  # gone once the backend has exited (and its FATAL reached our socket)


async def statement_pid() -> int:
    async with one_statement() as connection:
        row = await (await connection.execute("SELECT pg_backend_pid()")).fetchone()
    assert row is not None
    return int(row[0])


async def session_pid() -> int:
    async with unit_of_work() as session:
        return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


def test_a_dropped_statement_connection_is_replaced(live_url: str, db: psycopg.Connection) -> None:
    async def scenario() -> tuple[int, int, int]:
        first = await statement_pid()
        kept = await statement_pid()
        terminate(db, kept)
        return first, kept, await statement_pid()

    first, kept, replaced = run_service(scenario)
    assert kept == first  # one connection, kept between statements
    assert replaced != kept  # the dropped one was found and replaced: no error reached the caller


def test_a_dropped_session_connection_is_replaced_at_checkout(live_url: str, db: psycopg.Connection) -> None:
    async def scenario() -> tuple[int, int, int]:
        first = await session_pid()
        kept = await session_pid()
        terminate(db, kept)
        return first, kept, await session_pid()

    first, kept, replaced = run_service(scenario)
    assert kept == first
    assert replaced != kept


async def held_pids(stack: AsyncExitStack, count: int) -> list[int]:
    """`count` statement connections taken at once and held until `stack` closes; their backend pids."""
    pids = []
    for _ in range(count):
        connection = await stack.enter_async_context(one_statement())
        row = await (await connection.execute("SELECT pg_backend_pid()")).fetchone()
        assert row is not None
        pids.append(int(row[0]))
    return pids


def test_every_dropped_connection_is_replaced_in_one_checkout(
    live_url: str, db: psycopg.Connection, small_pool: None
) -> None:
    """A restart drops every idle connection at once: the next statement still gets a live one (left to
    find each dead one in turn, the pool waits 1 s, 2 s, ... between them, past the checkout's timeout)."""

    async def scenario() -> tuple[list[int], int]:
        async with AsyncExitStack() as stack:
            kept = await held_pids(stack, SMALL)
        for pid in kept:
            terminate(db, pid)
        return kept, await statement_pid()

    kept, replaced = run_service(scenario)
    assert len(set(kept)) == SMALL
    assert replaced not in kept


def test_no_free_connection_in_time_is_an_outage(live_url: str, small_pool: None) -> None:
    async def scenario() -> tuple[Reason, int]:
        async with AsyncExitStack() as stack:
            await held_pids(stack, SMALL)
            with pytest.raises(Unavailable) as waited:
                await statement_pid()
        return waited.value.reason, await statement_pid()  # and the pool serves again once one is free

    reason, _ = run_service(scenario)
    assert reason == Reason.UNAVAILABLE
