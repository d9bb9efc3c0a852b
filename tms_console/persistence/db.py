"""The async engine and sessions. The only module that creates database connections."""

from __future__ import annotations

import asyncio
import functools
import select
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from tms_console.settings import get_settings


class DatabaseNotConfigured(RuntimeError):
    """DATABASE_URL is not set (the dev server sets it after starting embedded Postgres)."""


class DatabaseUnavailable(Exception):
    """Postgres could not be reached, the connection died, or no pooled connection freed up in time;
    the transaction was rolled back."""


POOL_TIMEOUT = 5  # seconds a unit of work waits for a pooled connection before it counts as an outage
CONNECT_TIMEOUT = 5


@dataclass(frozen=True)
class PoolSize:
    """Connections a process keeps (`size`) and may open beyond them under a burst (`overflow`).

    No checkout pings the server (a round trip per unit of work): `alive` finds a connection the server
    dropped without one, and a connection that dies in use fails its work as an outage (rolled back)."""

    # A web process keeps the 15 connections it may use: overflow connections are closed as soon as
    # they are checked in, so under load (50 callbacks at once) every burst opened new ones.
    size: int = 15
    overflow: int = 0


_pool = PoolSize()


def use_pool(pool: PoolSize) -> None:
    """Size this process's pools before its first query (the worker: one connection per job it runs at
    once, so no job waits for another's connection)."""
    global _pool
    _pool = pool
    get_engine.cache_clear()
    _sessions.cache_clear()
    _statements.cache_clear()


def async_url(url: str) -> str:
    """Normalise any Postgres URL to the psycopg 3 driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@functools.cache
def get_engine() -> AsyncEngine:
    url = get_settings().database_url
    if not url:
        raise DatabaseNotConfigured("DATABASE_URL is not set")
    engine = create_async_engine(
        async_url(url),
        pool_size=_pool.size,
        max_overflow=_pool.overflow,
        pool_timeout=POOL_TIMEOUT,
        connect_args={"connect_timeout": CONNECT_TIMEOUT},
    )
    event.listen(engine.sync_engine, "checkout", _drop_if_dead)
    return engine


def alive(connection: psycopg.AsyncConnection[Any]) -> bool:
    """Whether an idle pooled connection can still be used, without a round trip: the server sends
    nothing to an idle connection unless it is saying goodbye (the FATAL of a restart or of
    `pg_terminate_backend`, then end of file), so anything waiting to be read means it is gone."""
    if connection.closed or connection.info.transaction_status != TransactionStatus.IDLE:
        return False
    waiting = select.poll()  # not select(): a busy process may hold descriptors past FD_SETSIZE
    waiting.register(connection.fileno(), select.POLLIN)
    return not waiting.poll(0)


def _drop_if_dead(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """The engine pool's checkout check: a dropped connection is replaced by a fresh one (the pool
    retries the checkout) instead of failing the unit of work."""
    if not alive(record.driver_connection):
        raise sa_exc.DisconnectionError("the server closed this pooled connection")


@functools.cache
def _sessions(autocommit: bool = False) -> async_sessionmaker[AsyncSession]:
    engine = get_engine()
    if autocommit:  # the same pool; psycopg then sends no BEGIN/COMMIT (no round trips of their own)
        engine = engine.execution_options(isolation_level="AUTOCOMMIT")
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def session_scope(*, autocommit: bool = False) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits on success, rolls back on any error. `autocommit`: no transaction,
    each statement commits on its own (for work that is one statement, or reads that need no snapshot).

    Connection-level failures surface as DatabaseUnavailable (no driver text, which may hold a DSN).
    """
    try:
        async with _sessions(autocommit)() as session, session.begin():
            yield session
    except (
        sa_exc.OperationalError,
        sa_exc.InterfaceError,
        sa_exc.TimeoutError,  # every pooled connection stayed busy for pool_timeout: overloaded
        OSError,
        TimeoutError,
    ) as exc:
        raise DatabaseUnavailable(type(exc).__name__) from None
    except sa_exc.DBAPIError as exc:
        if exc.connection_invalidated:
            raise DatabaseUnavailable(type(exc).__name__) from None
        raise


class _Statements:
    """Autocommit driver connections for work that is one statement (an install's start and a first
    install): no ORM session, no transaction, no ping; at most `size` at once, opened on demand and kept.

    Not psycopg_pool's AsyncConnectionPool (measured as a replacement, 2026-12-02): it opens connections
    in a background task, so with Postgres down a checkout waits its whole timeout (5 s) instead of failing
    at once; after a restart it waits 1 s, 2 s, ... before each further dead idle connection unless
    drained; its tasks are bound to one event loop; and it cost ~15% more CPU per statement under 30
    concurrent ones. This class opens inline, so an outage is answered as soon as the connect fails."""

    def __init__(self, conninfo: str, size: int) -> None:
        self._conninfo = conninfo
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._free = asyncio.Semaphore(size)

    async def acquire(self) -> psycopg.AsyncConnection[Any]:
        async with asyncio.timeout(POOL_TIMEOUT):
            await self._free.acquire()
        try:
            while self._idle:
                connection = self._idle.pop()
                if alive(connection):
                    return connection
                await connection.close()
            return await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT
            )
        except BaseException:
            self._free.release()
            raise

    async def release(self, connection: psycopg.AsyncConnection[Any]) -> None:
        try:
            if connection.closed or connection.info.transaction_status != TransactionStatus.IDLE:
                await connection.close()  # broken, or left mid-statement by a cancelled request
            else:
                self._idle.append(connection)
        finally:
            self._free.release()

    async def close(self) -> None:
        while self._idle:
            await self._idle.pop().close()


@functools.cache
def _statements() -> _Statements:
    url = get_settings().database_url
    if not url:
        raise DatabaseNotConfigured("DATABASE_URL is not set")
    return _Statements(libpq_url(url), _pool.size)


def libpq_url(url: str) -> str:
    """Any Postgres URL as libpq (the driver itself) reads it."""
    return "postgresql://" + async_url(url).removeprefix("postgresql+psycopg://")


@asynccontextmanager
async def statement() -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A pooled autocommit connection for one statement, which commits on its own (a failed one changed
    nothing). Connection-level failures surface as DatabaseUnavailable, as in `session_scope`."""
    pool = _statements()
    try:
        connection = await pool.acquire()
    except (psycopg.OperationalError, OSError, TimeoutError) as exc:
        raise DatabaseUnavailable(type(exc).__name__) from None
    try:
        yield connection
    except (psycopg.OperationalError, psycopg.InterfaceError, OSError, TimeoutError) as exc:
        raise DatabaseUnavailable(type(exc).__name__) from None
    finally:
        await pool.release(connection)


async def driver(session: AsyncSession) -> Any:
    """The psycopg connection under the session's transaction: for procrastinate's deferrals, which must
    commit with the session's writes, and for fixed statements whose rows need no SQLAlchemy layer."""
    return (await (await session.connection()).get_raw_connection()).driver_connection


async def dispose_engine() -> None:
    if get_engine.cache_info().currsize:
        await get_engine().dispose()
    if _statements.cache_info().currsize:
        await _statements().close()
    get_engine.cache_clear()
    _sessions.cache_clear()
    _statements.cache_clear()


async def accepts_connections(conninfo: str, *, connect_timeout: int = 5) -> bool:
    """Whether Postgres at `conninfo` (a libpq URL) takes a new connection now: the worker's probe while
    it waits out an outage (a server still starting up refuses, so it counts as down)."""
    try:
        connection = await psycopg.AsyncConnection.connect(conninfo, connect_timeout=connect_timeout)
    except (psycopg.OperationalError, OSError):
        return False
    await connection.close()
    return True
