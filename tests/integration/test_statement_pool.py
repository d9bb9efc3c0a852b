"""No pooled connection of the web process is pinged before use: one the server dropped (a restart, a
terminated backend) is found at checkout without a round trip and replaced, in the one-statement pool
(`db.statement()`) and in the SQLAlchemy pool alike; a connection is kept between statements. Over real
Postgres, the services' own way in (`one_statement`, `unit_of_work`)."""

from __future__ import annotations

import psycopg
from sqlalchemy import text

from tests.utils.health import run_service
from tms_console.services.unit_of_work import one_statement, unit_of_work


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
